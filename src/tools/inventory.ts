// Inventory tools: free-form read-only SQL over the inventory, and one service with its live
// state. Neither writes anything; the SQL runs only on the store's read-only connection.
import { z } from 'zod';
import type { Adapters } from '../adapters/index.js';
import { ToolFailure } from '../errors.js';
import type { ServiceRecord } from '../store/readers.js';
import { defineTool } from './spec.js';

const DEFAULT_ROWS = 100;
const MAX_ROWS = 1_000;
const QUERY_TIMEOUT_MS = 2_000;
const LIVE_TIMEOUT_MS = 10_000;

const Cell = z.union([z.string(), z.number(), z.null()]);

export const queryInventory = defineTool({
  name: 'query_inventory',
  title: 'Query the inventory (SQL)',
  description:
    'One read-only SQLite SELECT. Tables (main columns): hosts(name, address, labels, notes, cleanup, reboot), ' +
    'services(name, host, container, owner, tier, labels, depends_on, health_check, runbooks, notes, nginx, resources), ' +
    'runbooks(name, description, hosts, params, risk), discovered_containers(host, name, image, state), ' +
    'incidents(id, opened_at, closed_at, status, target, title, summary, resolution). ' +
    `Lists and objects are JSON text (json_each). Values as ? params. Caps: maxRows, ${QUERY_TIMEOUT_MS / 1000} s.`,
  family: 'inventory',
  risk: 'read',
  openWorld: false,
  input: z.strictObject({
    sql: z.string().min(1).max(10_000).describe('One SELECT; ? for values.'),
    params: z.array(Cell).max(100).default([]).describe('Values for the ?s, in order.'),
    maxRows: z.number().int().min(1).max(MAX_ROWS).default(DEFAULT_ROWS).describe('Row cap.'),
  }),
  output: z.object({
    columns: z.array(z.string()),
    rows: z.array(z.array(Cell)),
    rowCount: z.number().int(),
    truncated: z.boolean(),
    truncatedBy: z.enum(['rows', 'time']).nullable(),
  }),
  target: () => 'inventory',
  async run(input, ctx) {
    const r = await ctx.inventory.query(input.sql, input.params, { maxRows: input.maxRows, timeoutMs: QUERY_TIMEOUT_MS });
    // Notes and health checks are free text an operator may have put a secret in: the guard redacts
    // every cell with the rest of the output (rows are arrays, so no cell passes as an identifier).
    const rows = r.rows as z.infer<typeof Cell>[][];
    return { columns: r.columns, rows, rowCount: rows.length, truncated: r.truncated, truncatedBy: r.truncatedBy ?? null };
  },
  summarize(out) {
    const columns = out.columns.join(', ');
    return `${out.rowCount} row${out.rowCount === 1 ? '' : 's'}${out.truncated ? ` (truncated by the ${out.truncatedBy} cap)` : ''}; ` +
      `columns: ${columns.length > 200 ? `${columns.slice(0, 199)}…` : columns}`;
  },
});

const LiveState = z.object({
  state: z.string(),
  running: z.boolean(),
  health: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string(),
  exitCode: z.number().int(),
  oomKilled: z.boolean(),
  restartCount: z.number().int(),
});

const DescribeServiceOutput = z.object({
  name: z.string(),
  host: z.string(),
  container: z.string().nullable(),
  owner: z.string().nullable(),
  tier: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  dependsOn: z.array(z.string()),
  dependents: z.array(z.string()),
  healthCheck: z.object({ http: z.string().optional(), tcp: z.string().optional(), container: z.boolean().optional() }).nullable(),
  runbooks: z.array(z.string()),
  notes: z.string().nullable(),
  nginx: z.object({ confPath: z.string(), prefix: z.string().optional(), container: z.string().optional() }).nullable(),
  live: LiveState.nullable(),
  note: z.string().nullable(),
});
type LiveState = z.infer<typeof LiveState>;

export const describeService = defineTool({
  name: 'describe_service',
  title: 'Describe a service',
  description:
    'One inventory service (host, container, owner, tier, dependencies, dependents, health check, runbooks, notes) with its live Docker state. ' +
    'Use it first when a service is named. Read-only.',
  family: 'inventory',
  risk: 'read',
  input: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a service name').describe('Service name, e.g. "db".'),
  }),
  output: DescribeServiceOutput,
  target: (i) => `service:${i.name}`,
  async run(input, ctx) {
    const s = ctx.inventory.service(input.name);
    if (!s) {
      const known = ctx.inventory.services().map((x) => x.name);
      const list = known.length ? `known services: ${known.slice(0, 30).join(', ')}${known.length > 30 ? ', …' : ''}` : 'the inventory has no services; run `warden inventory load`';
      throw new ToolFailure('invalid_input', `no service "${input.name}" in the inventory; ${list}`);
    }
    const dependents = ctx.inventory.services().filter((x) => x.dependsOn.includes(s.name)).map((x) => x.name);
    const { live, note } = await liveState(s, ctx.adapters);
    return {
      name: s.name, host: s.host, container: s.container, owner: s.owner, tier: s.tier, labels: s.labels,
      dependsOn: s.dependsOn, dependents, healthCheck: (s.healthCheck ?? null) as z.infer<typeof DescribeServiceOutput>['healthCheck'],
      runbooks: s.runbooks, notes: s.notes && s.notes.slice(0, 2_000), nginx: s.nginx, live, note,
    };
  },
  summarize(o) {
    const who = [o.tier, o.owner && `owner ${o.owner}`].filter(Boolean).join(', ').slice(0, 100);
    const where = `${o.host}/${o.container ?? '(no container)'}`;
    const now = o.live
      ? `${o.live.state}${o.live.health ? ` (${o.live.health})` : ''}${o.live.running ? ` since ${o.live.startedAt}` : `, exit ${o.live.exitCode}${o.live.oomKilled ? ', OOMKilled' : ''}`}${o.live.restartCount ? `, restarts ${o.live.restartCount}` : ''}`
      : `live state unknown: ${(o.note ?? '-').slice(0, 200)}`;
    const counts = `depends on ${o.dependsOn.length}, needed by ${o.dependents.length}, ${o.runbooks.length} runbook${o.runbooks.length === 1 ? '' : 's'}`;
    return `${o.name} (${who || 'no tier'}) on ${where}: ${now}\n${counts}`;
  },
});

/** The container's state, or null and why: an unreachable Docker must not hide the inventory entry. */
async function liveState(s: ServiceRecord, adapters: Adapters): Promise<{ live: LiveState | null; note: string | null }> {
  if (s.container === null) return { live: null, note: 'this service is not a container; the inventory has no live state for it' };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ToolFailure('unavailable', `Docker on host ${s.host} did not answer within ${LIVE_TIMEOUT_MS / 1000} s`)), LIVE_TIMEOUT_MS);
  });
  try {
    const st = await Promise.race([adapters.docker(s.host).containerState(s.container), late]);
    const { state, running, health, startedAt, finishedAt, exitCode, oomKilled, restartCount } = st;
    return { live: { state, running, health, startedAt, finishedAt, exitCode, oomKilled, restartCount }, note: null };
  } catch (err) {
    if (err instanceof ToolFailure) return { live: null, note: `live state unavailable: ${err.message}` };
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
