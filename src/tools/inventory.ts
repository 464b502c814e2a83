// Inventory tools: free-form read-only SQL over the inventory, and one service with its live
// state. Neither writes anything; the SQL runs only on the store's read-only connection.
import { z } from 'zod';
import type { Adapters } from '../adapters/index.js';
import { ToolFailure } from '../errors.js';
import type { ServiceRecord } from '../store/readers.js';
import { defineTool } from './spec.js';
import { redactText } from '../shared/redact.js';

const DEFAULT_ROWS = 100;
const MAX_ROWS = 1_000;
const QUERY_TIMEOUT_MS = 2_000;
const SUMMARY_ROWS = 20;
const LIVE_TIMEOUT_MS = 10_000;

const Cell = z.union([z.string(), z.number(), z.null()]);

export const queryInventory = defineTool({
  name: 'query_inventory',
  title: 'Query the inventory (SQL)',
  description:
    'Runs one read-only SQLite SELECT (or WITH ... SELECT) over the inventory and past incidents, for questions such as "which critical services run on gpu-worker". ' +
    'Tables: hosts(name, address, docker, docker_tls, ssh, labels, notes, source); services(name, host, container, owner, tier, labels, depends_on, health_check, runbooks, notes, nginx, source); ' +
    'runbooks(name, description, hosts, argv, params, risk, timeout_seconds, source); discovered_containers(host, name, image, state, first_seen, last_seen: containers found on hosts that the inventory does not know); ' +
    'incidents(id, fingerprint, opened_at, updated_at, closed_at, status, source, target, severity, title, summary, resolution). ' +
    'labels, depends_on, runbooks, hosts, argv, params, ssh, health_check and nginx are JSON text: use json_extract() or json_each(); pass values as ? parameters in params, never spliced into the SQL. ' +
    'Writes, PRAGMA, ATTACH, other tables and several statements are refused; use describe_service for one service with its live container state. ' +
    `Returns at most maxRows rows (default ${DEFAULT_ROWS}, max ${MAX_ROWS}) within ${QUERY_TIMEOUT_MS / 1000} s; truncated=true says rows were left out; text values are cut at 2000 characters.`,
  family: 'inventory',
  risk: 'read',
  openWorld: false,
  input: z.strictObject({
    sql: z.string().min(1).max(10_000).describe('One SELECT or WITH ... SELECT statement; use ? for values.'),
    params: z.array(Cell).max(100).default([]).describe('Values for the ? placeholders, in order.'),
    maxRows: z.number().int().min(1).max(MAX_ROWS).default(DEFAULT_ROWS).describe(`Row cap (default ${DEFAULT_ROWS}, max ${MAX_ROWS}).`),
  }),
  output: z.object({
    columns: z.array(z.string()),
    rows: z.array(z.array(Cell)),
    rowCount: z.number().int(),
    truncated: z.boolean().describe('true when the row or time cap left rows out'),
    truncatedBy: z.enum(['rows', 'time']).nullable(),
  }),
  target: () => 'inventory',
  async run(input, ctx) {
    const r = await ctx.inventory.query(input.sql, input.params, { maxRows: input.maxRows, timeoutMs: QUERY_TIMEOUT_MS });
    // Inventory notes and health checks are free text an operator may have put a secret in.
    const rows = (r.rows as z.infer<typeof Cell>[][]).map((row) => row.map((c) => (typeof c === 'string' ? redactText(c) : c)));
    return { columns: r.columns, rows, rowCount: rows.length, truncated: r.truncated, truncatedBy: r.truncatedBy ?? null };
  },
  summarize(out) {
    const clip = (v: unknown): string => {
      const s = v === null ? 'NULL' : String(v).replace(/\s+/g, ' ');
      return s.length > 40 ? `${s.slice(0, 39)}…` : s;
    };
    const head = `${out.rowCount} row${out.rowCount === 1 ? '' : 's'}${out.truncated ? ` (truncated by the ${out.truncatedBy} cap)` : ''}`;
    const lines = [out.columns.join(' | '), ...out.rows.slice(0, SUMMARY_ROWS).map((r) => r.map(clip).join(' | '))];
    if (out.rows.length > SUMMARY_ROWS) lines.push(`… ${out.rows.length - SUMMARY_ROWS} more rows in structuredContent`);
    return [head, ...lines.map((l) => l.slice(0, 240))].join('\n');
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
  dependsOn: z.array(z.string()).describe('services this one needs'),
  dependents: z.array(z.string()).describe('services that need this one'),
  healthCheck: z.object({ http: z.string().optional(), tcp: z.string().optional(), container: z.boolean().optional() }).nullable(),
  runbooks: z.array(z.string()),
  notes: z.string().nullable(),
  nginx: z.object({ confPath: z.string(), prefix: z.string().optional(), container: z.string().optional() }).nullable(),
  live: LiveState.nullable().describe('the container as Docker sees it now; null when it could not be read'),
  note: z.string().nullable().describe('why live is null'),
});
type LiveState = z.infer<typeof LiveState>;

export const describeService = defineTool({
  name: 'describe_service',
  title: 'Describe a service',
  description:
    'Returns one service from the inventory (host, container, owner, tier, labels, dependencies and dependents, health check, runbooks, notes) together with its live container state from Docker (state, health, exit code, OOMKilled, restart count). ' +
    'Use it first when an alert or a person names a service: it says who owns it, how critical it is, what it needs and what breaks with it. ' +
    'When Docker on its host cannot be reached, the inventory part still comes back with live=null and a note saying why. ' +
    'For logs or full container details use container_logs and inspect_container with the host and container it returns; to list or search services use query_inventory. ' +
    'Read-only; notes are cut at 2000 characters.',
  family: 'inventory',
  risk: 'read',
  input: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a service name').describe('Service name from the inventory, e.g. "db".'),
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
    const who = [o.tier, o.owner && `owner ${o.owner}`].filter(Boolean).join(', ');
    const where = `${o.host}/${o.container ?? '(no container)'}`;
    const now = o.live
      ? `${o.live.state}${o.live.health ? ` (${o.live.health})` : ''}${o.live.running ? ` since ${o.live.startedAt}` : `, exit ${o.live.exitCode}${o.live.oomKilled ? ', OOMKilled' : ''}`}${o.live.restartCount ? `, restarts ${o.live.restartCount}` : ''}`
      : `live state unknown: ${o.note ?? '-'}`;
    const check = o.healthCheck ? (o.healthCheck.http ?? o.healthCheck.tcp ?? 'docker health') : '-';
    return [
      `${o.name} (${who || 'no tier'}) on ${where}: ${now}`,
      `depends on: ${o.dependsOn.join(', ') || '-'}; needed by: ${o.dependents.join(', ') || '-'}`,
      `health check: ${check}; runbooks: ${o.runbooks.join(', ') || '-'}`,
      ...(o.notes ? [`notes: ${o.notes.replace(/\s+/g, ' ').slice(0, 300)}`] : []),
    ].join('\n');
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
