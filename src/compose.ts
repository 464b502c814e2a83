// The composition root: builds the runtime once from one config (store, policy, adapters,
// notifier, metrics, the guard) and wires the loop to warden's own MCP server. The only module
// that knows every layer; nothing imports it but the commands and the tests.
import { join } from 'node:path';
import { localHost } from './adapters/hosts.js';
import { createAdapters, type Adapters } from './adapters/index.js';
import { createNotifier } from './adapters/webhooks.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { defaultPolicy } from './policy/default-policy.js';
import { ApprovalDecider } from './policy/approvals.js';
import { Guard } from './policy/guard.js';
import { loadPolicyFile, type Policy } from './policy/policy-file.js';
import { connectInProcess } from './server/in-process-client.js';
import { createMetrics } from './server/metrics.js';
import type { Runtime } from './server/runtime.js';
import type { Notifier } from './shared/notifier.js';
import { DEFAULT_DECISION } from './shared/tiers.js';
import { ApprovalStore } from './store/approvals.js';
import { AuditLog } from './store/audit.js';
import { DB_FILE, openDb } from './store/db.js';
import { IncidentStore } from './store/incidents.js';
import { InventoryStore } from './store/inventory.js';
import { withLocalHost } from './store/inventory-file.js';
import { CATALOG, filterCatalog } from './tools/catalog.js';

import { LOOP_PRINCIPAL } from './shared/roles.js';

export function loadPolicy(config: Config): Policy {
  return config.policyPath ? loadPolicyFile(config.policyPath, DEFAULT_DECISION) : defaultPolicy();
}

export function checkpointPath(dataDir: string): string {
  return join(dataDir, `${DB_FILE}.head`);
}

/** Stand-ins a test or benchmark may pass for the parts that reach outside the process. */
export interface RuntimeParts {
  adapters?: Adapters;
  notifier?: Notifier;
}

/** Everything but the database is validated first, so a bad policy leaves nothing written. */
export function createRuntime(config: Config, log: Logger = createLogger(config.logLevel), parts: RuntimeParts = {}): Runtime {
  const policy = loadPolicy(config);
  const catalog = filterCatalog(CATALOG, config.tools);
  const db = openDb(config.dataDir);
  const audit = new AuditLog(db, checkpointPath(config.dataDir));
  const approvals = new ApprovalStore(db);
  const inventory = new InventoryStore(db);
  const adapters = parts.adapters ?? createAdapters(withLocalHost(localHost(config.dockerHost), inventory.hostSpecs()), log);
  const notifier = parts.notifier ?? createNotifier(config.notify.webhooks, log);
  const metrics = createMetrics(approvals, catalog.map((t) => t.name));
  const guard = new Guard({
    catalog, policy, audit, approvals, adapters, notifier, log,
    inventory,
    resolveTarget: (target) => inventory.resolveTarget(target),
    incidents: new IncidentStore(db),
    callTimeoutMs: config.tools.callTimeoutMs,
    approvalTtlMs: config.approvals.ttlMinutes * 60_000,
    observe: metrics.observeCall,
  });
  return {
    config, log, db, audit, approvals, inventory,
    decider: new ApprovalDecider(approvals, audit, notifier), policy, adapters, notifier, metrics, guard,
    // readOnly: the role, not the tool list, refuses writes, so the model still sees every tool.
    connectLoopClient: (incidentId, opts = {}) =>
      connectInProcess(guard, { principal: LOOP_PRINCIPAL, role: opts.readOnly ? 'readonly' : 'operator', transport: 'loop', incidentId }),
    async close() {
      await notifier.flush();
      await adapters.close();
      inventory.close();
      audit.close();
      db.close();
    },
  };
}
