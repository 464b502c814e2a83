// The action of `warden chaos run`, loaded when it runs: finds the containers that opted in, injects
// each round's faults through the guard as principal chaos (decided by policy, audited), watches
// what warden does (chaos-watch.ts), undoes what is still broken after each round, and reports.
// Ctrl-C or SIGTERM ends the watch, undoes the round's faults the same way, and prints what it has.
import { setTimeout as delay } from 'node:timers/promises';
import { randomInt } from 'node:crypto';
import type { Config, ConfigLoader } from '../config.js';
import { InputError } from '../errors.js';
import type { Runtime } from '../server/runtime.js';
import { IncidentStore } from '../store/incidents.js';
import { CHAOS_LABEL, type Fault } from '../tools/chaos-fault.js';
import { planRounds, type Candidate, type ChaosRunOptions, type PlannedFault } from './chaos-plan.js';
import { CHAOS_READER, watchRound, type FaultRecord } from './chaos-watch.js';
import { loadRuntime } from './load-runtime.js';
import { printJson, printLines, printTable } from './output.js';

const POLL_MS = 500;
const CALL_TIMEOUT_MS = 60_000;

interface Report {
  seed: number;
  rounds: number;
  maxConcurrent: number;
  faults: string[];
  dryRun: boolean;
  candidates: string[];
  /** Why the run ended early: a refusal by policy, or a signal; null when it ran its rounds. */
  stopped: string | null;
  records: FaultRecord[];
}

const signalOf = (ms: number): AbortSignal => AbortSignal.timeout(ms);

/** Every running container that carries warden.chaos=true, on every host, read through the guard. */
async function discover(rt: Runtime, warn: (line: string) => void): Promise<{ found: Candidate[]; listed: number }> {
  const found: Candidate[] = [];
  let listed = 0;
  for (const host of rt.adapters.hosts()) {
    const list = await rt.guard.call(CHAOS_READER, 'list_containers', { host, all: false }, signalOf(CALL_TIMEOUT_MS));
    if (!list.ok) {
      warn(`host ${host}: containers not listed (${list.kind === 'ask_human' ? 'held for approval' : list.message}); skipped`);
      continue;
    }
    listed += 1;
    for (const c of (list.output as { containers: Array<{ name: string; state: string }> }).containers) {
      if (c.state !== 'running') continue;
      const o = await rt.guard.call(CHAOS_READER, 'inspect_container', { host, container: c.name }, signalOf(CALL_TIMEOUT_MS));
      if (!o.ok) continue;
      const d = o.output as { labels: Record<string, string>; limits: { memoryBytes: number | null }; health: unknown };
      if (d.labels[CHAOS_LABEL] !== 'true') continue;
      found.push({ host, name: c.name, memoryBytes: d.limits.memoryBytes ?? 0, hasHealthCheck: d.health !== null });
    }
  }
  return { found, listed };
}

const blank = (p: PlannedFault): FaultRecord => ({
  ...p, callId: null, outcome: 'planned', error: null, injectedAt: null, startedAtBefore: null, incidentId: null, detectedAt: null,
  runningAt: null, resolvedAt: null, escalated: false, actions: [], finishedAt: null, restored: null, detectSeconds: null, runningSeconds: null, resolvedSeconds: null,
});

/** One fault through the guard; the time of its `requested` entry is when it may first have acted. */
async function inject(rt: Runtime, p: PlannedFault): Promise<FaultRecord> {
  const r = blank(p);
  const o = await rt.guard.call(CHAOS_READER, 'inject_fault', { host: p.host, container: p.container, fault: p.fault }, signalOf(CALL_TIMEOUT_MS));
  r.callId = o.callId;
  r.injectedAt = rt.audit.list({ callId: o.callId }).find((e) => e.phase === 'requested')?.time ?? null;
  if (o.ok && (o.output as { dryRun?: boolean }).dryRun === true) {
    // The policy file's dryRun: decided and audited, never sent to Docker; nothing to watch or undo.
    r.outcome = 'refused';
    r.error = 'dry run: the policy file has dryRun: true, so nothing was injected';
  } else if (o.ok) {
    r.outcome = 'injected';
    r.startedAtBefore = (o.output as { before: { startedAt: string } }).before.startedAt;
  } else {
    // A refusal by the gate means the policy does not let chaos run: the run stops there.
    r.outcome = o.kind === 'denied' || o.kind === 'approval_required' || o.kind === 'ask_human' ? 'refused' : 'failed';
    r.error = o.kind === 'ask_human' ? 'held for a human' : `${o.kind}: ${o.message}`;
  }
  return r;
}

/** Undoes what is still broken after the watch (start, unpause, clear the marker), through the guard. */
async function restore(rt: Runtime, records: FaultRecord[]): Promise<void> {
  await Promise.all(records.filter((r) => r.outcome === 'injected').map(async (r) => {
    const o = await rt.guard.call(CHAOS_READER, 'inject_fault', { host: r.host, container: r.container, fault: r.fault, undo: true }, signalOf(CALL_TIMEOUT_MS));
    if (!o.ok) r.restored = `failed: ${o.kind === 'ask_human' ? 'held for a human' : o.message}`;
    else {
      const out = o.output as { acted: boolean; note: string };
      r.restored = out.acted ? out.note : '';
    }
  }));
}

/** Waits `ms`, or less when `stop` aborts; never rejects. */
function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal: stop }).catch(() => undefined);
}

function checkEnabled(config: Config): void {
  if (!config.tools.enabled.includes('inject_fault')) {
    throw new InputError('chaos run needs the opt-in tool inject_fault: add it to config tools.enabled, and a policy rule that lets principal chaos call it (docs/chaos.md)');
  }
}

const fmt = (s: number | null): string => (s === null ? '-' : `${s.toFixed(1)}s`);

function didWhat(r: FaultRecord): string {
  if (r.outcome !== 'injected') return `${r.outcome}: ${r.error ?? ''}`;
  // The acts by name; the looks (reads) only counted, or the column would be mostly inspect_container.
  const acts = r.actions.filter((a) => a.risk !== 'read').map((a) => `${a.tool}${a.phase === 'failed' ? ' (failed)' : ''}${a.dryRun ? ' (dry run)' : ''}`);
  const reads = r.actions.length - acts.length;
  const did = [...acts, ...(reads ? [`${reads} read${reads === 1 ? '' : 's'}`] : [])].join(', ') || 'nothing';
  return r.restored ? `${did}; chaos ${r.restored}` : did;
}

/** What an empty table says: why there is nothing in it. */
function emptyBecause(report: Report): string {
  if (report.stopped) return 'nothing injected';
  if (!report.candidates.length) return `no running container carries ${CHAOS_LABEL}=true: nothing to do`;
  return report.dryRun ? 'no fault planned: no candidate can take the faults asked for' : 'no fault injected';
}

function printReport(report: Report): void {
  if (report.dryRun) {
    printTable(['round', 'target', 'fault'], report.records.map((r) => [String(r.round), `${r.host}/${r.container}`, r.fault]), emptyBecause(report));
    printLines([`seed ${report.seed}: dry run, nothing injected${report.stopped ? `; ${report.stopped}` : ''}`]);
    return;
  }
  printTable(['round', 'target', 'fault', 'detect', 'running', 'resolved', 'escalated', 'incident', 'warden did'], report.records.map((r) => [
    String(r.round), `${r.host}/${r.container}`, r.fault, fmt(r.detectSeconds), fmt(r.runningSeconds), fmt(r.resolvedSeconds),
    r.escalated ? 'yes' : 'no', r.incidentId ?? '-', didWhat(r),
  ]), emptyBecause(report));
  const injected = report.records.filter((r) => r.outcome === 'injected');
  printLines([`seed ${report.seed}: ${injected.length} injected, ${injected.filter((r) => r.detectedAt).length} detected, ` +
    `${injected.filter((r) => r.runningAt).length} running again, ${injected.filter((r) => r.resolvedAt).length} resolved, ${injected.filter((r) => r.escalated).length} escalated` +
    (report.stopped ? `; stopped early: ${report.stopped}` : '')]);
}

export async function runChaos(loadConfig: ConfigLoader, opts: ChaosRunOptions): Promise<void> {
  const config = loadConfig();
  checkEnabled(config);
  const stop = new AbortController();
  let stopped: string | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    stopped ??= `${sig}: the round's faults were undone`;
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rt = await loadRuntime(config);
  try {
    const { found: candidates, listed } = await discover(rt, (line) => process.stderr.write(`warden: ${line}\n`));
    const seed = opts.seed ?? randomInt(0, 2 ** 32);
    const plan = planRounds(candidates, { rounds: opts.rounds, maxConcurrent: opts.maxConcurrent, faults: opts.faults as Fault[], seed });
    const report: Report = { seed, rounds: opts.rounds, maxConcurrent: opts.maxConcurrent, faults: opts.faults, dryRun: opts.dryRun ?? false, candidates: candidates.map((c) => `${c.host}/${c.name}`), stopped: null, records: [] };
    // No host answered: "nothing opted in" would be a claim about containers nobody could see.
    if (listed === 0) report.stopped = 'no host could be listed: nothing was planned or injected';
    else if (opts.dryRun) report.records = plan.flat().map(blank);
    else await runRounds(rt, plan, report, opts, stop.signal);
    report.stopped ??= stopped;
    if (report.stopped) process.exitCode = 1;
    if (opts.json) printJson(report);
    else printReport(report);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await rt.close();
  }
}

async function runRounds(rt: Runtime, plan: PlannedFault[][], report: Report, opts: ChaosRunOptions, stop: AbortSignal): Promise<void> {
  const store = new IncidentStore(rt.db);
  for (const [i, round] of plan.entries()) {
    if (stop.aborted) return;
    // Settled, not all: one injection that throws must not leave the others of its round un-undone.
    const records = (await Promise.allSettled(round.map((p) => inject(rt, p)))).map((s, k) => s.status === 'fulfilled' ? s.value
      : { ...blank(round[k]!), outcome: 'failed' as const, error: s.reason instanceof Error ? s.reason.message : String(s.reason) });
    report.records.push(...records);
    const refused = records.find((r) => r.outcome === 'refused');
    if (!refused) await watchRound(rt, store, records, { timeoutS: opts.timeout, pollMs: POLL_MS, stop });
    // Whatever ended the watch, nothing chaos broke stays broken.
    await restore(rt, records);
    if (refused) {
      report.stopped = `inject_fault was refused (${refused.error}); the policy must let principal chaos call it (docs/chaos.md)`;
      return;
    }
    if (i < plan.length - 1) await sleep(opts.interval * 1000, stop);
  }
}
