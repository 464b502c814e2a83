// The autonomous loop as `warden serve` runs it: the Messages API client, the intake (shared with
// the /alerts routes), Docker event watchers on every host with Docker, the runner, which
// resumes open incidents on start, and the heartbeat when one is configured. Stopped before the
// database closes; it never acts outside the guard.
import type Anthropic from '@anthropic-ai/sdk';
import type { Adapters } from '../adapters/index.js';
import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import { LOOP_PRINCIPAL } from '../shared/roles.js';
import type { Logger } from '../log.js';
import type { ApprovalDecider } from '../policy/approvals.js';
import type { Guard } from '../policy/guard.js';
import type { Notifier } from '../shared/notifier.js';
import type { ApprovalStore } from '../store/approvals.js';
import type { AuditLog } from '../store/audit.js';
import type { Db } from '../store/db.js';
import { IncidentStore } from '../store/incidents.js';
import { SilenceStore } from '../store/silences.js';
import type { InventoryStore } from '../store/inventory.js';
import { anthropicFor, modelBreaker, runAgent, type AgentResult } from './agent.js';
import { SafeMode } from './safe-mode.js';
import type { SafeModeStore } from '../store/safe-mode.js';
import type { BreakerBoard } from '../adapters/breakers.js';
import type { NormalizedAlert } from '../shared/alerts.js';
import { watchDockerEvents, type DockerEventWatch } from './docker-events.js';
import type { AgentRequest, FlowDeps } from './flow-steps.js';
import { Intake } from './intake.js';
import type { ConnectLoopClient } from './loop-client.js';
import type { PromptFacts } from './prompt.js';
import { Runner, type RunnerDeps, type RunnerOptions } from './runner.js';
import { createMonitors } from './monitors/start.js';
import { pingHeartbeat } from '../adapters/heartbeat-ping.js';
import { HealthStateStore, probeWrite } from '../store/health-states.js';
import { Heartbeat, type LoopHealth } from './heartbeat.js';
import { duration } from './watchdog.js';
import { warnIfDeprecatedModel } from './models.js';
import { firstLevelFor } from './first-level-service.js';
import type { MonitorScheduler } from './monitors/scheduler.js';

export interface LoopService {
  intake: Intake;
  runner: Runner;
  incidents: IncidentStore;
  /** warden's own monitors; undefined when config loop.monitors is off. */
  monitors: MonitorScheduler | undefined;
  /** Resolves once every watched host's event stream has opened or failed its first try. */
  ready(): Promise<void>;
  /**
   * Whether the loop can do its work, for the heartbeat: the runner's poll and watchdog ran
   * recently, no alert has waited past the limit to be recorded, and LoopServiceOptions.extraHealth.
   */
  health(): LoopHealth;
  /** Stops the heartbeat alone: the first thing a shutdown does, so a warden going down never reports itself alive. */
  silence(): Promise<void>;
  /** Stops the heartbeat and the watchers, then the runner (runs under way are aborted and resume on the next start). */
  stop(): Promise<void>;
}

/** How long Docker's events and the monitors' alerts wait for another process's write lock: they have no sender to retry them. */
const UNSENT_ALERT_WAIT_MS = 10 * 60_000;
/** An alert waiting longer than this to be recorded means the loop is wedged (a lock held that long is no blip). */
const INGEST_STUCK_MS = 60_000;

/** What the loop is built from: the parts of the runtime it uses, handed in by the composition root. */
export interface LoopRuntime {
  config: Pick<Config, 'loop' | 'secrets' | 'dataDir'>;
  log: Logger;
  db: Db;
  guard: Guard;
  approvals: ApprovalStore;
  /** Cancels a closed incident's held calls, audited. */
  decider: ApprovalDecider;
  audit: AuditLog;
  inventory: InventoryStore;
  notifier: Notifier;
  adapters: Adapters;
  connectLoopClient: ConnectLoopClient;
  /** Where the loop switches itself to safe mode, and where `warden loop arm` lifts it. */
  safeMode: SafeModeStore;
  /** The process's circuit breakers: the Messages API's, each host's Docker and SSH. */
  breakers: BreakerBoard;
}

export interface LoopServiceOptions {
  /** Default: from config (undefined without an API key: the agent is unreachable, the runbooks act). */
  anthropic?: Anthropic;
  approvalPollMs?: number;
  /** The runner's watchdog interval, limits and clock (tests). */
  runner?: Omit<RunnerOptions, 'approvalPollMs'>;
  /** An alert that has waited this long to be recorded makes the loop unhealthy (default 60 s). */
  ingestStuckMs?: number;
  /** More of the loop's health, one problem a line (empty when healthy); the heartbeat stops while any is reported. */
  extraHealth?: () => string[];
}

/** The hosts whose Docker the loop watches: `local` and every inventory host with a Docker endpoint. */
export function dockerHostsOf(rt: LoopRuntime): string[] {
  return [...new Set(['local', ...rt.inventory.hosts().filter((h) => h.docker).map((h) => h.name)])];
}

function factsFor(rt: LoopRuntime, incidents: IncidentStore, req: AgentRequest): PromptFacts {
  const inc = req.incident;
  const service = rt.inventory.serviceFor(inc);
  const similar = incidents.search(`${inc.title} ${inc.target ?? ''}`, 6).filter((s) => s.id !== inc.id).slice(0, 5);
  // The timeline rides along for the prompt to show what the loop already saw and did.
  return { ...(service ? { service } : {}), similar, timeline: req.timeline, ...(req.firstLevel ? { firstLevel: req.firstLevel } : {}) };
}

/** What the runner is built from, on this runtime; `agent` is Claude (or, in tests, a stand-in). */
export function runnerDeps(rt: LoopRuntime, incidents: IncidentStore, agent: FlowDeps['agent'], log: Logger = rt.log, monitors?: FlowDeps['monitors']): RunnerDeps {
  const selfCheck = new SafeMode({ store: rt.safeMode, audit: rt.audit, notifier: rt.notifier, log, settings: rt.config.loop.safeMode });
  return {
    ...(monitors ? { monitors } : {}),
    selfCheck, breakers: rt.breakers,
    incidents, guard: rt.guard, approvals: rt.approvals, audit: rt.audit, inventory: rt.inventory, notifier: rt.notifier, log, cfg: rt.config.loop, dataDir: rt.config.dataDir,
    connect: rt.connectLoopClient, watches: new HealthStateStore(rt.db),
    cancelApprovals: (incidentId, reason) => { rt.decider.cancelForIncident(incidentId, reason); },
    agent,
  };
}

export async function startLoop(rt: LoopRuntime, opts: LoopServiceOptions = {}): Promise<LoopService> {
  const cfg = rt.config.loop;
  const log = rt.log.child({ part: 'loop' });
  const incidents = new IncidentStore(rt.db);
  const anthropic = opts.anthropic ?? anthropicFor(cfg, rt.config.secrets, log);
  if (!anthropic) log.warn('no Anthropic API key: Claude is unreachable, the deterministic runbooks act alone');
  warnIfDeprecatedModel(cfg.model, log);
  const breaker = modelBreaker(rt.breakers, cfg.requestTimeoutSeconds * 1_000);
  const agent = (req: AgentRequest): Promise<AgentResult> =>
    runAgent({ incident: req.incident, facts: factsFor(rt, incidents, req), mode: req.mode, client: req.client, anthropic, cfg, log: incidents, signal: req.signal, logger: log, breaker, requestTimeoutMs: cfg.requestTimeoutSeconds * 1_000,
      notAttempted: (use, reason) => rt.guard.notAttempted({ principal: LOOP_PRINCIPAL, role: 'operator', transport: 'loop', incidentId: req.incident.id }, use.name, use.input, reason),
    });
  // Built before the runner, which verifies monitor incidents with them; started after it.
  let onAlerts: (alerts: NormalizedAlert[]) => void = () => undefined;
  const monitors = cfg.monitors ? createMonitors(rt, (alerts) => onAlerts(alerts), log) : undefined;
  const firstLevel = firstLevelFor({ cfg: cfg.firstLevel, apiKey: rt.config.secrets.firstLevelApiKey, breakers: rt.breakers, guard: rt.guard, incidents, facts: (req) => factsFor(rt, incidents, req), log });
  const runner = new Runner({ ...runnerDeps(rt, incidents, agent, log, monitors), ...(firstLevel ? { firstLevel } : {}) }, { ...opts.runner, approvalPollMs: opts.approvalPollMs });
  const intake = new Intake(incidents, rt.inventory, runner, cfg, log, undefined, new SilenceStore(rt.db, rt.audit));
  // Docker's events and the monitors' alerts: in arrival order, one payload after the other, even
  // while another process holds the write lock. They have no sender to retry them.
  let ingesting = Promise.resolve();
  // When each payload in line arrived, oldest first: the head's age is how long the line has been stuck.
  const inLine: number[] = [];
  onAlerts = (alerts) => {
    inLine.push(Date.now());
    ingesting = ingesting
      .then(() => intake.ingestWhenFree(alerts, UNSENT_ALERT_WAIT_MS))
      .then(() => undefined, (err: unknown) => log.error({ err: errorMessage(err), alerts: alerts.length, source: alerts[0]?.source }, 'alerts could not be recorded'))
      .finally(() => { inLine.shift(); });
  };
  // After a failed audit write, one committed write says whether the database takes writes again.
  const writesAgain = (): boolean => {
    try {
      probeWrite(rt.db);
      rt.audit.writeRecovered();
      return true;
    } catch {
      return false;
    }
  };
  const health = (): LoopHealth => {
    const problems = runner.health();
    const waitedMs = inLine.length > 0 ? Date.now() - inLine[0]! : 0;
    if (waitedMs > (opts.ingestStuckMs ?? INGEST_STUCK_MS)) {
      problems.push(`an alert has waited ${duration(waitedMs)} to be recorded (${inLine.length} payload${inLine.length === 1 ? '' : 's'} in line): the database may be locked by another process`);
    }
    const unwritable = rt.audit.writeProblem();
    if (unwritable && !writesAgain()) problems.push(`the audit cannot be written (since ${unwritable.at}): every call is refused`);
    try {
      problems.push(...(opts.extraHealth?.() ?? []));
    } catch (err) {
      problems.push(`a health check failed: ${errorMessage(err).slice(0, 200)}`);
    }
    return { ok: problems.length === 0, problems };
  };
  const watch: DockerEventWatch | undefined = cfg.watchDockerEvents ? watchDockerEvents(dockerHostsOf(rt), rt.adapters, onAlerts, log) : undefined;
  await runner.start();
  const running = monitors?.start();
  if (running) log.info({ monitors: running }, "warden's own monitors are running");
  const heartbeat = cfg.heartbeat
    ? new Heartbeat({ url: cfg.heartbeat.url, intervalMs: cfg.heartbeat.intervalSeconds * 1_000, health, ping: pingHeartbeat, watches: new HealthStateStore(rt.db), log })
    : undefined;
  heartbeat?.start();
  let stopping: Promise<void> | undefined;
  return {
    intake, runner, incidents, monitors, health,
    ready: async () => { await watch?.ready(); },
    silence: async () => { await heartbeat?.stop(); },
    stop: () => (stopping ??= (async () => {
      // First: a warden going down must not report itself alive while it stops.
      await heartbeat?.stop();
      await watch?.close();
      await monitors?.stop();
      await runner.stop();
      log.info('loop stopped');
    })()),
  };
}
