// Builds the parts every entry point shares from one config: store, policy, adapters, notifier
// and the guard. Entry points differ only in how requests reach the guard.
import { join } from 'node:path';
import { localHost } from '../adapters/hosts.js';
import { createAdapters, type Adapters } from '../adapters/index.js';
import type { Config } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { createNotifier, type Notifier } from '../loop/notify.js';
import { defaultPolicy } from '../policy/default-policy.js';
import { Guard } from '../policy/guard.js';
import { loadPolicyFile, type Policy } from '../policy/policy-file.js';
import { DEFAULT_DECISION } from '../policy/tiers.js';
import { AuditLog } from '../store/audit.js';
import { ApprovalStore } from '../store/approvals.js';
import { IncidentStore } from '../store/incidents.js';
import { InventoryStore } from '../store/inventory.js';
import { withLocalHost } from '../store/inventory-file.js';
import { DB_FILE, openDb, type Db } from '../store/db.js';
import { CATALOG, filterCatalog } from '../tools/catalog.js';

export interface Runtime {
  config: Config;
  log: Logger;
  db: Db;
  audit: AuditLog;
  approvals: ApprovalStore;
  inventory: InventoryStore;
  policy: Policy;
  adapters: Adapters;
  notifier: Notifier;
  guard: Guard;
  close(): Promise<void>;
}

export function loadPolicy(config: Config): Policy {
  return config.policyPath ? loadPolicyFile(config.policyPath, DEFAULT_DECISION) : defaultPolicy();
}

export function checkpointPath(dataDir: string): string {
  return join(dataDir, `${DB_FILE}.head`);
}

/** Everything but the database is validated first, so a bad policy leaves nothing written. */
export function createRuntime(config: Config, log: Logger = createLogger(config.logLevel), parts: { adapters?: Adapters } = {}): Runtime {
  const policy = loadPolicy(config);
  const db = openDb(config.dataDir);
  const audit = new AuditLog(db, checkpointPath(config.dataDir));
  const approvals = new ApprovalStore(db);
  const inventory = new InventoryStore(db);
  const adapters = parts.adapters ?? createAdapters(withLocalHost(localHost(config.dockerHost), inventory.hostSpecs()), log);
  const notifier = createNotifier(config.notify.webhooks, log);
  const guard = new Guard({
    catalog: filterCatalog(CATALOG, config.tools),
    policy, audit, approvals, adapters, notifier, log,
    inventory,
    resolveTarget: (target) => inventory.resolveTarget(target),
    incidents: new IncidentStore(db),
    callTimeoutMs: config.tools.callTimeoutMs,
    approvalTtlMs: config.approvals.ttlMinutes * 60_000,
  });
  return {
    config, log, db, audit, approvals, inventory, policy, adapters, notifier, guard,
    async close() {
      await notifier.flush();
      await adapters.close();
      inventory.close();
      audit.close();
      db.close();
    },
  };
}
