// tools/list as a third-party client sees it: the MCP Inspector CLI spawning `warden stdio`.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../support/processes.js';
import { CATALOG, OPT_IN } from '../../src/tools/catalog.js';

const root = resolve(import.meta.dirname, '../..');

/**
 * The command README.md documents, exactly, from the repository root: `bash scripts/inspect.sh ARGS`.
 * (inspector-cli 1.0.3 run directly from the root fails: it looks for its package.json at
 * ../package.json relative to the working directory; the script works around it.)
 */
function inspect(args: string[], cwd = root): unknown {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_DATA_DIR: join(tempDir('inspector'), 'data'), WARDEN_LOG_LEVEL: 'warn' };
  const r = spawnSync('bash', [join(root, 'scripts/inspect.sh'), ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`inspector exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('the MCP Inspector CLI', () => {
  it('lists every catalog tool but the opt-in ones with its schemas and all four annotations', () => {
    const { tools } = inspect(['--method', 'tools/list']) as { tools: Array<{ name: string; inputSchema: { type: string }; outputSchema?: object; annotations: Record<string, boolean> }> };
    expect(tools.map((t) => t.name).sort()).toEqual(CATALOG.filter((t) => !OPT_IN.has(t.name)).map((t) => t.name).sort());
    for (const t of tools) {
      expect(t.inputSchema.type, t.name).toBe('object');
      expect(t.outputSchema, t.name).toBeDefined();
      // The title is the tool's own (clients show it before annotations.title), so annotations hold only the four hints.
      expect(Object.keys(t.annotations).sort(), t.name).toEqual(['destructiveHint', 'idempotentHint', 'openWorldHint', 'readOnlyHint']);
    }
  });

  it('calls a tool and gets structured content', () => {
    const r = inspect(['--method', 'tools/call', '--tool-name', 'search_incidents', '--tool-arg', 'query=oom']) as { structuredContent: unknown; isError?: boolean };
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({ incidents: [] });
  });

  it("runs warden in the caller's directory, so its ./warden.yaml applies", () => {
    const dir = tempDir('inspector-cwd');
    writeFileSync(join(dir, 'warden.yaml'), 'tools:\n  readOnly: true\n');
    const { tools } = inspect(['--method', 'tools/list'], dir) as { tools: Array<{ name: string; annotations: { readOnlyHint: boolean } }> };
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.filter((t) => !t.annotations.readOnlyHint).map((t) => t.name)).toEqual([]);
  });
});
