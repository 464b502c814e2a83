import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Runtime } from '../../src/server/runtime.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { EXAMPLE_INVENTORY } from '../support/inventory.js';
import { waitFor } from '../support/processes.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const open: Array<Linked | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function setup(policy?: string) {
  const adapters = fakeAdapters();
  const rt = testRuntime({ policy, adapters, inventory: EXAMPLE_INVENTORY });
  const linked = await linkClient(rt, { principal: 'local', role: 'operator', transport: 'memory' });
  open.push(rt, linked);
  return { rt, fake: adapters.fake, client: linked.client };
}

const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;
const failure = (r: unknown) => ((r as CallToolResult)._meta?.['warden/failure'] ?? {}) as { kind?: string; rule?: string };

/** This process's children that run query_inventory's statements, from /proc. */
function queryProcesses(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('query-process');
    } catch {
      return false;
    }
  });
}

describe('policy by inventory attributes', () => {
  const critical = 'rules: [{ name: critical-needs-a-human, tool: restart_container, service: { tier: critical }, decision: approve }]';

  it('holds restart_container on the critical db, and touches nothing', async () => {
    const { rt, fake, client } = await setup(critical);
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    expect(failure(r)).toMatchObject({ kind: 'approval_required', rule: 'critical-needs-a-human' });
    expect(fake.calls).toEqual([]);
    expect(rt.audit.list()).toMatchObject([{ tool: 'restart_container', target: 'local/db', decision: 'approve', rule: 'critical-needs-a-human' }]);
  });

  it('lets restart_container on the standard-tier web-1 run', async () => {
    const { fake, client } = await setup(critical);
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'web-1' } });
    expect(r.isError).toBeFalsy();
    expect(fake.calls).toEqual(['state web-1', 'restart web-1', 'state web-1']);
  });

  it('a container the inventory does not know still works on the local host, by the default for its tier', async () => {
    const { rt, fake, client } = await setup(critical);
    fake.containers.push({ ...fake.containers[0]!, id: 'ccc', name: 'stray' });
    const r = await client.callTool({ name: 'restart_container', arguments: { container: 'stray' } });
    expect(r.isError).toBeFalsy();
    expect(fake.calls).toEqual(['state stray', 'restart stray', 'state stray']);
    expect(rt.audit.list()[0]).toMatchObject({ target: 'local/stray', decision: 'notify', rule: 'default:low' });
  });

  it('matches on owner and labels too', async () => {
    const { fake, client } = await setup('rules: [{ name: data-team-only, service: { owner: data-team, labels: { role: database } }, risk: low, decision: deny }]');
    expect(failure(await client.callTool({ name: 'restart_container', arguments: { container: 'db' } }))).toMatchObject({ kind: 'denied', rule: 'data-team-only' });
    expect((await client.callTool({ name: 'restart_container', arguments: { container: 'web-1' } })).isError).toBeFalsy();
    expect(fake.calls).toEqual(['state web-1', 'restart web-1', 'state web-1']);
  });
});

describe('query_inventory through the guard', () => {
  it('answers a SELECT in structuredContent with a one-line head (no rows in the text), and audits it', async () => {
    const { rt, client } = await setup();
    const r = await client.callTool({ name: 'query_inventory', arguments: { sql: 'SELECT name, tier FROM services WHERE host = ? ORDER BY name', params: ['local'] } });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({
      columns: ['name', 'tier'], rows: [['db', 'critical'], ['lb', 'critical'], ['web-1', 'standard'], ['web-2', 'standard']],
      rowCount: 4, truncated: false, truncatedBy: null,
    });
    expect(text(r)).toBe('4 rows; columns: name, tier');
    expect(rt.audit.list().map((e) => `${e.tool}:${e.phase}`)).toEqual(['query_inventory:completed']);
  });

  it('refuses DELETE as invalid_input, and the services are still there', async () => {
    const { rt, client } = await setup();
    const r = await client.callTool({ name: 'query_inventory', arguments: { sql: 'DELETE FROM services' } });
    expect(failure(r).kind).toBe('invalid_input');
    expect(text(r)).toMatch(/query refused: only SELECT/);
    expect(rt.inventory.services()).toHaveLength(5);
  });

  it('refuses a read of the audit table', async () => {
    const { client } = await setup();
    const r = await client.callTool({ name: 'query_inventory', arguments: { sql: 'SELECT args FROM audit' } });
    expect(text(r)).toMatch(/\[invalid_input\] query refused: the statement reads "audit"/);
  });

  it('stops an unbounded recursive CTE at its deadline, and answers other calls while it runs', async () => {
    const { client, rt } = await setup();
    const order: string[] = [];
    const endless = client.callTool({ name: 'query_inventory', arguments: { sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c' } })
      .then((r) => { order.push('cte'); return r; });
    const other = client.callTool({ name: 'describe_service', arguments: { name: 'db' } }).then((r) => { order.push('describe_service'); return r; });
    const [r, o] = await Promise.all([endless, other]);
    expect(order).toEqual(['describe_service', 'cte']);
    expect(o.isError).toBeFalsy();
    expect(text(r)).toMatch(/^\[invalid_input\] query stopped at its deadline of 2000 ms/);
    // Stopped for real: the process that ran it is gone, not spinning a core in the background.
    await waitFor('the stopped query process to be gone', async () => queryProcesses().length === 0);
    // The next statement runs in a fresh process.
    const after = await client.callTool({ name: 'query_inventory', arguments: { sql: 'SELECT count(*) AS n FROM services' } });
    expect(after.isError, text(after)).toBeFalsy();
    expect(rt.audit.list().filter((e) => e.tool === 'query_inventory').map((e) => e.phase)).toEqual(['failed', 'completed']);
    expect(queryProcesses()).toHaveLength(1);
  });

  it('redacts secrets an operator left in the inventory, in rows and in SQL errors that quote them, and in the audit', async () => {
    const adapters = fakeAdapters();
    const rt = testRuntime({ adapters, inventory: { 'services.yaml': 'services:\n  - { name: db, host: local, notes: "dsn postgres://app:S3cretPw@db/x" }\n' } });
    const linked = await linkClient(rt, { principal: 'local', role: 'operator', transport: 'memory' });
    open.push(rt, linked);
    const rows = await linked.client.callTool({ name: 'query_inventory', arguments: { sql: 'SELECT notes FROM services' } });
    const failed = await linked.client.callTool({ name: 'query_inventory', arguments: { sql: "SELECT json_extract('{}', (SELECT notes FROM services))" } });
    expect(failed.isError).toBe(true);
    expect(JSON.stringify([rows, failed, rt.audit.list()])).not.toContain('S3cretPw');
  });

  it('refuses maxRows above 1000, naming the field', async () => {
    const { client } = await setup();
    const r = await client.callTool({ name: 'query_inventory', arguments: { sql: 'SELECT 1', maxRows: 5000 } });
    expect(text(r)).toMatch(/\[invalid_input\].*maxRows/);
  });
});

describe('describe_service through the guard', () => {
  it('returns the inventory entry with dependents and the live state', async () => {
    const { fake, client } = await setup();
    const r = await client.callTool({ name: 'describe_service', arguments: { name: 'db' } });
    expect(r.structuredContent).toMatchObject({
      name: 'db', host: 'local', container: 'db', owner: 'data-team', tier: 'critical', dependsOn: [], dependents: ['web-1', 'web-2'],
      healthCheck: { container: true }, runbooks: ['disk-usage'], live: { state: 'running', running: true }, note: null,
    });
    expect(text(r)).toMatch(/^db \(critical, owner data-team\) on local\/db: running since /);
    expect(fake.calls).toEqual(['state db']);
  });

  it('an unknown service is invalid_input listing the known ones', async () => {
    const { client } = await setup();
    const r = await client.callTool({ name: 'describe_service', arguments: { name: 'dbb' } });
    expect(text(r)).toMatch(/\[invalid_input\] no service "dbb" in the inventory; known services: db, lb, trainer, web-1, web-2/);
  });
});
