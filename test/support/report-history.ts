// A seeded incident history for `warden report`: incidents, timelines, audit entries and model
// calls written through the real stores at fixed offsets from `now`, with the figures worked out
// by hand beside it (REPORT_EXPECTED). Shared by the unit, CLI, console and metrics tests.
import type { NormalizedAlert } from '../../src/shared/alerts.js';
import { AuditLog } from '../../src/store/audit.js';
import type { Db } from '../../src/store/db.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { alert } from './incidents.js';

const S = 1_000;
const DAY = 86_400_000;

type Where = { target: string; host: string; container: string; service: string };
const on = (container: string, service: string): Where => ({ target: `local/${container}`, host: 'local', container, service });

/**
 * Writes the history into `db`. `now` is the report's end; the window is the 30 days before it.
 * Pass the runtime's `sharedAudit` when one is open on `db`.
 *
 *   id  opened (from now)  where       title                                  ends
 *   G   -32d (before)      web-2       web-2 exited with code 1               resolved (outside the window)
 *   H   -26d               web-2       web-2 exited with code 1               restart ran, verify failed, escalated +100s
 *   A   -20d               web-1       web-1 exited with code 137             loop restart, verified +60s, resolved +90s (warden cancels a held call)
 *   C   -20d +1h           db          db unhealthy: "SELECT 1" took 5012 ms  dry run only, escalated +600s
 *   B   -19d               web-1       web-1 exited with code 137 (same fp)   alice approved, restart, verified +300s, resolved +320s
 *   D   -18d               db          db unhealthy: "SELECT 2" took 7000 ms  chaos kill only, resolved by the source +45s
 *   E   -17d               api         api: HTTP 502 ... at <time>            a dry run and a read only, verified +20s, resolved +25s
 *   F   -15d               api         api: HTTP 502 ... at <other time>      still investigating (verified +30s, not closed)
 *   I   -14d               cache       cache down                             first alert already resolved: resolved +0s
 */
export function seedReportHistory(db: Db, now: Date, sharedAudit?: AuditLog): Record<'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I', string> {
  let clock = now;
  const store = new IncidentStore(db, () => clock);
  // A second AuditLog on a connection whose runtime keeps one would fork the chain: use the runtime's.
  const audit = sharedAudit ?? new AuditLog(db, null);
  const at = (ms: number): void => { clock = new Date(now.getTime() + ms); };
  const open = (openedMs: number, startMs: number | string | null, where: Where, over: Partial<NormalizedAlert>): string => {
    at(openedMs);
    const startsAt = typeof startMs === 'number' ? new Date(now.getTime() + startMs).toISOString() : startMs ?? undefined;
    return store.create(alert({ ...(startsAt === undefined ? {} : { startsAt }), ...over }), where).id;
  };
  const write = (incidentId: string, principal: string, tool: string, target: string, over: { risk?: string; phase?: 'completed' | 'approved' | 'rejected'; dryRun?: boolean } = {}): void => {
    audit.append({
      callId: `call-${incidentId}-${tool}-${principal}-${over.phase ?? 'completed'}`, principal, transport: principal === 'loop' ? 'loop' : 'http', tool, target,
      args: {}, argsHash: '', risk: over.risk ?? 'low', decision: 'allow', phase: over.phase ?? 'completed', dryRun: over.dryRun ?? false, incidentId,
    });
  };
  const verify = (id: string, ms: number, ok: boolean): void => { at(ms); store.addEvent(id, 'verify', ok ? 'verified: running' : 'verification failed', { ok, reason: 'test' }); };
  const close = (id: string, ms: number, how: 'resolve' | 'escalate'): void => { at(ms); store.transition(id, how, `${how}d`, { resolution: how }); };

  const G = open(-32 * DAY, -32 * DAY - 5 * S, on('web-2', 'web'), { fingerprint: 'docker:local/web-2:die', summary: 'web-2 exited with code 1' });
  close(G, -32 * DAY + 40 * S, 'resolve');

  const h0 = -26 * DAY;
  const H = open(h0, h0 - 60 * S, on('web-2', 'web'), { fingerprint: 'docker:local/web-2:die', summary: 'web-2 exited with code 1' });
  write(H, 'loop', 'restart_container', 'local/web-2');
  verify(H, h0 + 50 * S, false);
  close(H, h0 + 100 * S, 'escalate');

  const a0 = -20 * DAY;
  const A = open(a0, a0 - 30 * S, on('web-1', 'web'), { fingerprint: 'docker:local/web-1:die', summary: 'web-1 exited with code 137' });
  write(A, 'loop', 'inspect_container', 'local/web-1', { risk: 'read' });
  write(A, 'loop', 'restart_container', 'local/web-1');
  verify(A, a0 + 60 * S, true);
  write(A, 'loop', 'update_container_resources', 'local/web-1', { risk: 'medium', phase: 'rejected' }); // the loop's own entry for a declined call: not a person
  write(A, 'warden', 'update_container_resources', 'local/web-1', { risk: 'medium', phase: 'rejected' }); // warden cancelling it on resolve: not a person
  write(A, 'chaos', 'inject_fault', 'local/web-1', { risk: 'high', phase: 'approved' }); // chaos is warden's own too
  close(A, a0 + 90 * S, 'resolve');

  const c0 = a0 + 3_600 * S;
  const C = open(c0, c0 - 120 * S, on('db', 'db'), { fingerprint: 'warden:probe:db', summary: 'db unhealthy: "SELECT 1" took 5012 ms' });
  write(C, 'loop', 'restart_container', 'local/db', { dryRun: true });
  close(C, c0 + 600 * S, 'escalate');

  const b0 = -19 * DAY;
  const B = open(b0, b0 - 10 * S, on('web-1', 'web'), { fingerprint: 'docker:local/web-1:die', summary: 'web-1 exited with code 137' });
  write(B, 'alice', 'restart_container', 'local/web-1', { risk: 'medium', phase: 'approved' });
  write(B, 'loop', 'restart_container', 'local/web-1', { risk: 'medium' });
  verify(B, b0 + 300 * S, true);
  close(B, b0 + 320 * S, 'resolve');

  const d0 = -18 * DAY;
  const D = open(d0, '0001-01-01T00:00:00Z', on('db', 'db'), { fingerprint: 'warden:probe:db:2', summary: 'db unhealthy: "SELECT 2" took 7000 ms' });
  write(D, 'chaos', 'kill_container', 'local/db', { risk: 'high' });
  close(D, d0 + 45 * S, 'resolve');

  const e0 = -17 * DAY;
  const E = open(e0, e0 + 15 * S, on('api', 'api'), { fingerprint: 'uptime:api', summary: 'api: HTTP 502 from /health at 2026-11-02T10:00:00Z' });
  write(E, 'loop', 'restart_container', 'local/api', { dryRun: true }); // safe mode: nothing ran
  write(E, 'loop', 'inspect_container', 'local/api', { risk: 'read' }); // a read is no action
  verify(E, e0 + 20 * S, true);
  close(E, e0 + 25 * S, 'resolve');

  const f0 = -15 * DAY;
  const F = open(f0, f0 - 5 * S, on('api', 'api'), { fingerprint: 'uptime:api:2', summary: 'api: HTTP 502 from /health at 2026-11-04T08:30:00Z' });
  at(f0 + 10 * S);
  store.transition(F, 'work', 'looking');
  verify(F, f0 + 30 * S, true);

  const i0 = -14 * DAY;
  const I = open(i0, i0 - 3_600 * S, on('cache', 'cache'), { fingerprint: 'kuma:cache', summary: 'cache down', status: 'resolved' });
  close(I, i0, 'resolve');

  const call = (incidentId: string, ms: number, model: string, costUsd: number, inputTokens: number, outputTokens: number): void => {
    at(ms);
    store.recordModelCall({ incidentId, model, inputTokens, outputTokens, latencyMs: 900, costUsd, outcome: 'ok' });
  };
  call(G, -31 * DAY, 'claude-sonnet', 5, 100_000, 1_000); // before the window
  call(A, a0 + 5 * S, 'claude-sonnet', 0.012, 3_000, 200);
  call(A, a0 + 20 * S, 'claude-sonnet', 0.008, 2_000, 100);
  call(B, b0 + 5 * S, 'claude-sonnet', 0.02, 4_000, 300);
  call(C, c0 + 5 * S, 'claude-haiku', 0.001, 1_000, 50);
  if (!sharedAudit) audit.close();
  return { A, B, C, D, E, F, G, H, I };
}

/** The figures of that history over the 30 days before `now`, worked out by hand. */
export const REPORT_EXPECTED = {
  // In the window: H A C B D E F I (G opened 32 days back). F is still open.
  incidents: { opened: 8, open: 1, closed: 7, resolved: 5, escalated: 2 },
  // opened - startsAt: A 30, B 10, C 120, E 0 (its start is 15 s after the opening: clamped), F 5,
  // H 60; D's start is Go's zero time and I's first alert was a resolve: no start. Sorted
  // [0, 5, 10, 30, 60, 120]: mean 225/6 = 37.5; median (10 + 30)/2 = 20; p90 at rank 4.5: 60 + 0.5 x 60 = 90.
  mttd: { count: 6, meanSeconds: 37.5, medianSeconds: 20, p90Seconds: 90 },
  // The first passing verification of a closed incident: A 60, B 300, E 20 (F passed but is open;
  // H's failed). [20, 60, 300]: mean 380/3 = 126.667; median 60; p90 at rank 1.8: 60 + 0.8 x 240 = 252.
  mttrRunning: { count: 3, meanSeconds: 126.667, medianSeconds: 60, p90Seconds: 252 },
  // opened -> resolved: A 90, B 320, D 45, E 25, I 0. [0, 25, 45, 90, 320]: mean 480/5 = 96;
  // median 45; p90 at rank 3.6: 90 + 0.6 x 230 = 228.
  mttrResolved: { count: 5, meanSeconds: 96, medianSeconds: 45, p90Seconds: 228 },
  // Resolved with no person's decision: A D E I (alice approved B; A's decisions are the loop's, warden's and chaos's). 4/7.
  autoFix: { count: 4, of: 7, rate: 0.5714 },
  // C and H. 2/7.
  escalation: { count: 2, of: 7, rate: 0.2857 },
  // Resolved with no completed write: D (chaos's kill is no fix), E (a dry run and a read), I; A and B restarted; C escalated. 3/7.
  falsePositive: { count: 3, of: 7, rate: 0.4286 },
  // B (A's fingerprint, a day before), D (C's place and cause), F (E's), H (G's fingerprint, before
  // the window but within 7 days). 4/8.
  recurrence: { count: 4, of: 8, rate: 0.5, windowDays: 7 },
  // Causes twice on one service, newest last seen first: api (F), db (D), web (B). H's cause is once in the window.
  patterns: [
    { service: 'api', cause: 'api: http # from /health at <time>', count: 2 },
    { service: 'db', cause: 'db unhealthy: <value> took # ms', count: 2 },
    { service: 'web', cause: 'web-# exited with code 137', count: 2 },
  ],
  // G's $5 is before the window. sonnet 0.012 + 0.008 + 0.02 = 0.04 in 3 calls; haiku 0.001 in 1.
  modelSpend: {
    calls: 4, costUsd: 0.041, inputTokens: 10_000, outputTokens: 650,
    byModel: [{ model: 'claude-sonnet', calls: 3, costUsd: 0.04 }, { model: 'claude-haiku', calls: 1, costUsd: 0.001 }],
  },
} as const;
