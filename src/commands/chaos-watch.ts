// What became of each fault of `warden chaos run`, read from what warden recorded: the incident
// opened for that container (its alert's time: detection; its close: resolved or escalated), the
// calls on that target in the audit (what warden did), and Docker's state through the guard as
// reads of principal chaos (back running). It only reads; the faults and their undo are chaos-run's.
import { CHAOS_PRINCIPAL } from '../shared/roles.js';
import type { Runtime } from '../server/runtime.js';
import type { IncidentStore } from '../store/incidents.js';
import type { PlannedFault } from './chaos-plan.js';

export const CHAOS_READER = { principal: CHAOS_PRINCIPAL, role: 'operator', transport: 'cli' } as const;
/** A fault that recovered with no incident is done once no incident came for this long. */
const QUIET_MS = 5_000;
const MAX_ACTIONS = 50;

export interface Action {
  tool: string;
  principal: string;
  phase: string;
  time: string;
  /** The call's tier as the audit recorded it: `read` for a look, anything else for an act. */
  risk: string | null;
  dryRun: boolean;
}

export interface FaultRecord extends PlannedFault {
  callId: string | null;
  outcome: 'injected' | 'refused' | 'failed' | 'planned';
  error: string | null;
  /** The inject call's `requested` audit entry: the fault cannot have acted before it. */
  injectedAt: string | null;
  startedAtBefore: string | null;
  incidentId: string | null;
  /** The first alert of that incident at or after injectedAt. */
  detectedAt: string | null;
  /** Docker's new StartedAt when it was restarted and has no health check; else when seen running (and healthy) again. */
  runningAt: string | null;
  resolvedAt: string | null;
  escalated: boolean;
  /** Calls on the target by anyone but chaos between injectedAt and finishedAt, from the audit. */
  actions: Action[];
  /** When the watch of this fault ended (recovered, closed, or the round's timeout). */
  finishedAt: string | null;
  /** What chaos undid after the watch ('' when nothing was left to undo). */
  restored: string | null;
  detectSeconds: number | null;
  runningSeconds: number | null;
  resolvedSeconds: number | null;
}

/** What the watch keeps between polls, beside the record. */
interface Progress {
  /** The fault was seen to act: the container down, paused, unhealthy, or started anew. */
  tookEffect: boolean;
  runningSeenAt: number | null;
}

export const secondsBetween = (from: string | null, to: string | null): number | null =>
  from === null || to === null ? null : Math.round(Date.parse(to) - Date.parse(from)) / 1000;

const target = (r: PlannedFault): string => `${r.host}/${r.container}`;

/** The incident warden opened (or counted an alert on) for this fault: the earliest alert since injectedAt. */
export function incidentOf(store: IncidentStore, r: FaultRecord): { id: string; alertAt: string; status: string; closedAt: string | null } | null {
  if (r.injectedAt === null) return null;
  const since = Date.parse(r.injectedAt);
  let best: { id: string; alertAt: string; status: string; closedAt: string | null } | null = null;
  for (const i of store.list({ limit: 200 })) {
    if (i.target !== target(r) || Date.parse(i.updatedAt) < since) continue;
    const alert = store.timeline(i.id).find((e) => e.kind === 'alert' && Date.parse(e.time) >= since);
    if (alert && (best === null || Date.parse(alert.time) < Date.parse(best.alertAt))) best = { id: i.id, alertAt: alert.time, status: i.status, closedAt: i.closedAt };
  }
  return best;
}

/** Calls on the fault's target by anyone but chaos in [injectedAt, until], oldest first. */
export function actionsOf(rt: Pick<Runtime, 'audit'>, r: FaultRecord, until: string): Action[] {
  if (r.injectedAt === null) return [];
  const page = rt.audit.search({ target: target(r), since: r.injectedAt, until }, 500);
  return page.entries.filter((e) => e.principal !== CHAOS_PRINCIPAL && e.phase !== 'requested')
    .reverse().slice(0, MAX_ACTIONS)
    .map((e) => ({ tool: e.tool, principal: e.principal, phase: e.phase, time: e.time, risk: e.risk, dryRun: e.dryRun }));
}

interface Seen {
  state: string;
  running: boolean;
  startedAt: string | null;
  health: { status: string } | null;
}

async function look(rt: Runtime, r: FaultRecord): Promise<Seen | null> {
  const o = await rt.guard.call(CHAOS_READER, 'inspect_container', { host: r.host, container: r.container }, AbortSignal.timeout(10_000));
  return o.ok ? (o.output as Seen) : null;
}

/** One poll of one fault; true when its watch is over. */
async function poll(rt: Runtime, store: IncidentStore, r: FaultRecord, p: Progress): Promise<boolean> {
  const inc = incidentOf(store, r);
  if (inc) {
    r.incidentId = inc.id;
    r.detectedAt = inc.alertAt;
    r.escalated = inc.status === 'escalated';
    r.resolvedAt = inc.status === 'resolved' ? inc.closedAt : null;
  }
  const s = await look(rt, r);
  if (s) {
    const restarted = s.startedAt !== null && s.startedAt !== r.startedAtBefore;
    const up = s.running && s.state === 'running' && s.health?.status !== 'unhealthy' && s.health?.status !== 'starting';
    if (restarted || !up) p.tookEffect = true;
    if (p.tookEffect && up && r.runningAt === null) {
      r.runningAt = restarted && s.health === null ? s.startedAt : new Date().toISOString();
      p.runningSeenAt = Date.now();
    }
  }
  const closed = inc !== null && (inc.status === 'resolved' || inc.status === 'escalated');
  if (inc?.status === 'escalated') return true;
  if (r.runningAt === null) return false;
  return closed || (inc === null && Date.now() - (p.runningSeenAt ?? Date.now()) >= QUIET_MS);
}

function finish(rt: Runtime, r: FaultRecord): void {
  r.finishedAt = new Date().toISOString();
  r.actions = actionsOf(rt, r, r.finishedAt);
  r.detectSeconds = secondsBetween(r.injectedAt, r.detectedAt);
  r.runningSeconds = secondsBetween(r.injectedAt, r.runningAt);
  r.resolvedSeconds = secondsBetween(r.injectedAt, r.resolvedAt);
}

/**
 * Polls every pollMs until each injected fault of the round is over or timeoutS passed (or `stop`
 * aborts); each record is then finished with its figures and actions.
 */
export async function watchRound(rt: Runtime, store: IncidentStore, records: FaultRecord[], opts: { timeoutS: number; pollMs: number; stop: AbortSignal }): Promise<void> {
  const open = new Map(records.filter((r) => r.outcome === 'injected').map((r) => [r, { tookEffect: false, runningSeenAt: null } as Progress]));
  const deadline = Date.now() + opts.timeoutS * 1000;
  while (open.size > 0 && !opts.stop.aborted) {
    for (const [r, p] of [...open]) {
      if (await poll(rt, store, r, p)) {
        finish(rt, r);
        open.delete(r);
      }
    }
    if (open.size === 0 || Date.now() >= deadline) break;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, opts.pollMs);
      function done(): void {
        clearTimeout(t);
        opts.stop.removeEventListener('abort', done);
        resolve();
      }
      opts.stop.addEventListener('abort', done, { once: true });
    });
  }
  for (const r of open.keys()) finish(rt, r);
}
