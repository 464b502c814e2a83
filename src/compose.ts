// The composition root: builds the runtime once from one config (store, policy, adapters,
// notifier, metrics, the guard) and wires the loop to warden's own MCP server. The only module
// that knows every layer; nothing imports it but the commands and the tests.
import { randomUUID, type KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { BreakerBoard, type BreakerView } from './adapters/breakers.js';
import { HealthStateStore } from './store/health-states.js';
import { SafeModeStore } from './store/safe-mode.js';
import { join } from 'node:path';
import { localHost } from './adapters/hosts.js';
import { createAdapters, type Adapters } from './adapters/index.js';
import { forkIsolated } from './adapters/isolated-child.js';
import { createNotifier, listensFor } from './adapters/webhooks.js';
import type { Config } from './config.js';
import { errorMessage } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { defaultPolicy } from './policy/default-policy.js';
import { ApprovalDecider } from './policy/approvals.js';
import { Guard } from './policy/guard.js';
import { loadPolicyFile, type Policy } from './policy/policy-file.js';
import { PolicyHolder, type PolicyReload } from './policy/policy-holder.js';
import { loopPrecondition } from './loop/preconditions.js';
import { createMetrics, noMetrics } from './server/metrics.js';
import type { Runtime } from './server/runtime.js';
import type { Notification, Notifier } from './shared/notifier.js';
import { DEFAULT_DECISION } from './shared/tiers.js';
import { ApprovalStore } from './store/approvals.js';
import { SERVER_BUSY_TIMEOUT_MS, whenFree } from './store/busy.js';
import { AuditLog, type AuditInput } from './store/audit.js';
import { ensureAuditKey, signCheckpoint } from './store/audit-key.js';
import { CheckpointEmitter } from './store/checkpoint-emitter.js';
import { DB_FILE, looseModes, openDb } from './store/db.js';
import { ChangeStore, type ChangeRecord } from './store/changes.js';
import { IncidentStore } from './store/incidents.js';
import { incidentReport } from './store/incident-report.js';
import { SilenceStore } from './store/silences.js';
import { InventoryStore } from './store/inventory.js';
import { KillSwitchStore } from './store/kill-switch.js';
import { MonitorStateStore } from './store/monitor-states.js';
import { OutboxStore } from './store/outbox.js';
import { withLocalHost } from './store/inventory-file.js';
import { CATALOG, filterCatalog } from './tools/catalog.js';

import { LOOP_N1_PRINCIPAL, LOOP_PRINCIPAL } from './shared/roles.js';
import { firstLevelTools } from './loop/first-level-tools.js';

const KNOWN_TOOLS = CATALOG.map((t) => t.name);

export function loadPolicy(config: Config): Policy {
  return config.policyPath ? loadPolicyFile(config.policyPath, DEFAULT_DECISION, { knownTools: KNOWN_TOOLS }) : defaultPolicy();
}

export function checkpointPath(dataDir: string): string {
  return join(dataDir, `${DB_FILE}.head`);
}

/** A policy reload is a state change: audited in every process that picked it up. */
function policyReloadEntry(source: string, r: PolicyReload): AuditInput {
  return {
    callId: `policy.reload:${randomUUID()}`, principal: 'warden', transport: 'internal', tool: 'policy.reload', target: 'policy',
    args: { source, hash: r.hash }, argsHash: r.hash, phase: r.ok ? 'completed' : 'failed',
    result: r.ok ? `policy ${r.hash.slice(0, 12)} in force` : `invalid policy file, the last good one (${r.hash.slice(0, 12)}) stays in force: ${r.error ?? ''}`.slice(0, 1_000),
  };
}

/**
 * The checkpoint signing key, created with the data dir whether or not a hook takes checkpoints
 * yet. A bad key costs the checkpoints, never the start: the kill switch must not depend on it.
 */
function openAuditKey(dataDir: string, log: Logger): KeyObject | undefined {
  try {
    return ensureAuditKey(dataDir);
  } catch (err) {
    log.error({ err: errorMessage(err) }, 'no audit signing key: signed checkpoints are off');
    return undefined;
  }
}

/** A change whose rollback failed left a target broken: the most urgent thing warden can say. */
function rollbackFailed(c: ChangeRecord): Notification {
  return {
    event: 'escalation',
    title: `URGENT warden: rollback of change ${c.id} on ${c.target} FAILED: ${c.summary}. A human must restore it now (warden changes show ${c.id})`,
    fields: { priority: 'critical', change: c.id, target: c.target, kind: c.kind, incident: c.incidentId, rollback: c.rollback },
  };
}

/** This process, as the breaker rows it saves name it. */
const PROCESS_OWNER = `${hostname()}:${process.pid}`;

/** A breaker's change, saved for `warden status`; saving is a report, so it never fails the call the breaker wraps. */
function saveBreaker(store: HealthStateStore, view: BreakerView, log: Logger): void {
  log[view.state === 'closed' ? 'info' : 'warn']({ breaker: view.name, state: view.state, failures: view.failures, lastError: view.lastError }, `circuit breaker ${view.name} is ${view.state}`);
  try {
    store.saveBreaker({ ...view, lastError: view.lastError ?? null, retryAt: view.retryAt ?? null, updatedBy: PROCESS_OWNER });
  } catch (err) {
    log.warn({ err: errorMessage(err), breaker: view.name }, 'the state of a circuit breaker could not be saved');
  }
}

/** Stand-ins a test or benchmark may pass for the parts that reach outside the process. */
export interface RuntimeParts {
  adapters?: Adapters;
  /** The breakers the stand-in adapters and the loop share. */
  breakers?: BreakerBoard;
  notifier?: Notifier;
}

export interface RuntimeOptions {
  /**
   * For commands that call no tool (audit, approvals, tokens, incidents, killswitch): they still run
   * while the policy file is invalid, with a policy that denies every write. The kill switch must
   * never depend on a policy file someone just broke.
   */
  tolerateBadPolicy?: boolean;
  /**
   * A long-running server (serve, stdio): many requests share the process, so one that waits for
   * another process's write lock must wait from a timer, never inside SQLite (see store/busy.ts).
   */
  serving?: boolean;
  /**
   * Prometheus metrics (default on). Only `warden serve` has a /metrics to read them from: stdio
   * and the other commands turn them off and never load prom-client.
   */
  metrics?: boolean;
}

/** A runtime for a command that calls no tool: see RuntimeOptions.tolerateBadPolicy. */
export function createRecordsRuntime(config: Config): Runtime {
  return createRuntime(config, undefined, {}, { tolerateBadPolicy: true, metrics: false });
}

/** Everything but the database is validated first, so a bad policy leaves nothing written. */
export function createRuntime(config: Config, log: Logger = createLogger(config.logLevel), parts: RuntimeParts = {}, opts: RuntimeOptions = {}): Runtime {
  const catalog = filterCatalog(CATALOG, config.tools);
  const n1Tools = firstLevelTools(config.loop.firstLevel?.tools, CATALOG);
  let reloads: ((r: PolicyReload) => void) | undefined;
  const policy = new PolicyHolder({
    path: config.policyPath, load: () => loadPolicy(config), log, onReload: (r) => reloads?.(r),
    ...(opts.tolerateBadPolicy ? { fallback: () => ({ ...defaultPolicy(), killSwitch: true, source: 'deny-all (the policy file is invalid)' }) } : {}),
  });
  const db = openDb(config.dataDir, opts.serving ? { busyTimeoutMs: SERVER_BUSY_TIMEOUT_MS } : {});
  const auditKey = openAuditKey(config.dataDir, log);
  for (const loose of looseModes(config.dataDir)) log.warn({ path: loose }, 'data at rest is readable by others: chmod it (the dir 0700, its files 0600)');
  const audit = new AuditLog(db, checkpointPath(config.dataDir));
  // Their switches and a load append in the audit's own transaction (AuditLog.atomically).
  const killSwitch = new KillSwitchStore(db, audit);
  const approvals = new ApprovalStore(db);
  const inventory = new InventoryStore(db, config.nginx.allowedDirs, forkIsolated, audit);
  const healthStates = new HealthStateStore(db);
  const breakers = parts.breakers ?? new BreakerBoard({ failures: config.breakers.failures, halfOpenMs: config.breakers.halfOpenSeconds * 1_000 });
  breakers.onChange((view) => saveBreaker(healthStates, view, log));
  const adapters = parts.adapters ?? createAdapters(withLocalHost(localHost(config.dockerHost), inventory.hostSpecs()), log, breakers);
  const outbox = new OutboxStore(db);
  const notifier = parts.notifier ?? createNotifier(config.notify.webhooks, log, { outbox, breakers, publicUrl: config.server.publicUrl });
  const monitorStates = new MonitorStateStore(db);
  const safeMode = new SafeModeStore(db, audit);
  const metrics = opts.metrics === false ? noMetrics() : createMetrics(approvals, catalog.map((t) => t.name), () => monitorStates.list(), {
    breakers: () => breakers.views(), safeMode: () => safeMode.isOn(), pendingNotifications: () => outbox.summary().pending,
    report: (since, maxIncidents) => incidentReport(db, { since, maxIncidents }),
  });
  const checkpoints = auditKey && config.notify.webhooks.some((h) => listensFor(h, 'audit.checkpoint'))
    ? new CheckpointEmitter({
      notifier,
      sign: (head) => signCheckpoint(auditKey, head),
      everyEntries: config.audit.checkpointEvery.entries,
      everyMinutes: config.audit.checkpointEvery.minutes,
      onError: (err) => log.error({ err: errorMessage(err) }, 'an audit checkpoint could not be signed'),
    })
    : undefined;
  if (checkpoints) audit.onAppend((head, count) => checkpoints.appended(head, count));
  reloads = (r) => {
    metrics.observePolicyReload(r.ok);
    // From a file watcher: a busy database must neither block this process nor lose the entry.
    whenFree(() => audit.append(policyReloadEntry(config.policyPath ?? 'built-in default', r)), { waitMs: 10 * 60_000 })
      .catch((err: unknown) => log.error({ err: errorMessage(err) }, 'AUDIT GAP: the policy reload entry could not be written'));
  };
  policy.watch();
  const incidents = new IncidentStore(db);
  const changes = new ChangeStore(db, config.dataDir, (c) => notifier.send(rollbackFailed(c)));
  const guard = new Guard({
    catalog, audit, approvals, adapters, notifier, log, changes,
    policy: () => policy.current(),
    killSwitch: () => killSwitch.isOn(),
    safeMode: () => safeMode.isOn(),
    inventory,
    resolveTarget: (target) => inventory.resolveTarget(target),
    incidents,
    precondition: loopPrecondition({ adapters, incidents, inventory, audit, silences: new SilenceStore(db, audit) }),
    callTimeoutMs: config.tools.callTimeoutMs,
    approvalTtlMs: config.approvals.ttlMinutes * 60_000,
    dataDir: config.dataDir,
    observe: metrics.observeCall,
  });
  return {
    config, log, db, audit, approvals, inventory, changes, safeMode, breakers, healthStates, outbox,
    decider: new ApprovalDecider(approvals, audit, notifier), policy, killSwitch, adapters, notifier, metrics, guard,
    // readOnly: the readonly role refuses writes, and its tools/list offers none: the model sees
    // the read tools (and run_runbook, whose read runbooks run); a write it names anyway is denied and audited.
    // The MCP client is loaded with the loop's first incident: stdio and the CLI commands never need it.
    // firstLevel: the first-level model's client, principal loop-n1, given its tool subset: tools/list
    // offers no other, and the gate denies (and audits) a call of any other.
    connectLoopClient: async (incidentId, opts = {}) => (await import('./server/in-process-client.js'))
      .connectInProcess(guard, {
        principal: opts.firstLevel ? LOOP_N1_PRINCIPAL : LOOP_PRINCIPAL, role: opts.readOnly ? 'readonly' : 'operator', transport: 'loop', incidentId,
        ...(opts.firstLevel ? { tools: n1Tools } : {}),
      }),
    async close() {
      policy.close();
      // The last batch first, so the last signed checkpoint covers it.
      audit.flush();
      checkpoints?.close();
      await notifier.flush();
      try {
        healthStates.forgetBreakers(PROCESS_OWNER);
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'the breaker states of this process could not be cleared');
      }
      await adapters.close();
      inventory.close();
      audit.close();
      db.close();
    },
  };
}
