// Every change to what Claude sees is reviewed in the diff: tools/list is snapshotted whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tool } from '@modelcontextprotocol/client';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/client/validators/ajv';
import { fakeAdapters } from '../support/fake-docker.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';
import type { Runtime } from '../../src/server/runtime.js';
import { CATALOG } from '../../src/tools/catalog.js';

/**
 * Every session carries the whole listing in its context. The target is 15,000 characters;
 * this cap is what 24 tools cost an operator today (33,149, of which 72 say what a validated fix is
 * in search_incidents): what every tool repeats (name, title,
 * hints, tier: about 5,000), descriptions (about 6,000), input schemas (about 12,200, of which field
 * descriptions 5,200), top-level output fields (about 8,400), and the requiresUserInteraction mark on
 * the 8 tools the default policy always holds for approval (328). A readonly caller's listing is
 * 11 tools, 13,287. A tool or field that grows it shows here before a client pays.
 */
const MAX_LIST_CHARS = 33_150;

let rt: Runtime;
let linked: Linked;
let tools: Tool[];

beforeAll(async () => {
  rt = testRuntime({ adapters: fakeAdapters() });
  linked = await linkClient(rt);
  tools = (await linked.client.listTools()).tools;
});
afterAll(async () => {
  await linked.close();
  await rt.close();
});

describe('tools/list', () => {
  it('matches the committed snapshot', async () => {
    await expect(JSON.stringify(tools, null, 2) + '\n').toMatchFileSnapshot('./__snapshots__/tools-list.json');
  });

  it('sets a title, all four annotations and the risk tier on every tool', () => {
    for (const t of tools) {
      // The title is listed once, as the tool's own title, which clients show before annotations.title.
      expect(t.title, t.name).toEqual(expect.any(String));
      expect(Object.keys(t.annotations ?? {}).sort(), t.name).toEqual(['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint']);
      expect(['read', 'low', 'medium', 'high'], t.name).toContain(t._meta?.['warden/risk']);
      expect(t.outputSchema, t.name).toBeDefined();
      expect(t.name).toMatch(/^[a-z][a-z0-9_]{0,63}$/);
    }
  });

  it(`fits the whole of tools/list in ${MAX_LIST_CHARS} characters of compact JSON`, () => {
    const chars = JSON.stringify(tools).length;
    expect(chars, `tools/list is ${chars} characters of compact JSON`).toBeLessThanOrEqual(MAX_LIST_CHARS);
  });

  it('lists every output schema as an object schema the SDK client can compile', () => {
    // The engine the client runs on every structuredContent: it throws on a keyword with a wrong value.
    const validator = new AjvJsonSchemaValidator();
    for (const t of tools) {
      expect(t.outputSchema?.type, t.name).toBe('object');
      expect(() => validator.getValidator(t.outputSchema as object), t.name).not.toThrow();
      expect(() => validator.getValidator(t.inputSchema as object), t.name).not.toThrow();
    }
  });

  it('offers approvalId on every non-read tool and on no read tool', () => {
    for (const t of tools) {
      const props = Object.keys((t.inputSchema as { properties?: object }).properties ?? {});
      expect(props.includes('approvalId'), t.name).toBe(t._meta?.['warden/risk'] !== 'read');
      expect(t.annotations?.readOnlyHint, t.name).toBe(t._meta?.['warden/risk'] === 'read');
    }
  });

  it('lists nothing but read tools in read-only mode', async () => {
    const ro = testRuntime({ adapters: fakeAdapters(), config: 'tools:\n  readOnly: true\n' });
    const l = await linkClient(ro);
    const names = (await l.client.listTools()).tools.map((t) => t.name);
    const r = await l.client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    await l.close();
    await ro.close();
    expect(names).toContain('list_containers');
    expect(names).toEqual(CATALOG.filter((t) => t.risk === 'read').map((t) => t.name));
    expect(r._meta?.['warden/failure']).toMatchObject({ kind: 'denied', rule: 'unknown-tool' });
  });
});
