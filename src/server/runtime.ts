// What every entry point serves: the parts built once by the composition root (src/compose.ts).
// Transports and commands differ only in how requests reach the guard.
import type { Adapters } from '../adapters/index.js';
import type { BreakerBoard } from '../adapters/breakers.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { ApprovalDecider } from '../policy/approvals.js';
import type { Guard } from '../policy/guard.js';
import type { PolicyHolder } from '../policy/policy-holder.js';
import type { Notifier } from '../shared/notifier.js';
import type { ApprovalStore } from '../store/approvals.js';
import type { AuditLog } from '../store/audit.js';
import type { ChangeStore } from '../store/changes.js';
import type { Db } from '../store/db.js';
import type { InventoryStore } from '../store/inventory.js';
import type { KillSwitchStore } from '../store/kill-switch.js';
import type { SafeModeStore } from '../store/safe-mode.js';
import type { HealthStateStore } from '../store/health-states.js';
import type { OutboxStore } from '../store/outbox.js';
import type { InProcessClient } from './in-process-client.js';
import type { Metrics } from './metrics.js';

export interface Runtime {
  config: Config;
  log: Logger;
  db: Db;
  audit: AuditLog;
  approvals: ApprovalStore;
  /** Decides held calls; the one place that says who may. */
  decider: ApprovalDecider;
  inventory: InventoryStore;
  /** Configuration changes and their saved states (warden changes). */
  changes: ChangeStore;
  /** The policy in force, reloaded when its file changes. */
  policy: PolicyHolder;
  killSwitch: KillSwitchStore;
  /** The loop's safe mode (it switches itself on; `warden loop arm` switches it off). */
  safeMode: SafeModeStore;
  /** This process's circuit breakers; their changes are saved for `warden status`. */
  breakers: BreakerBoard;
  healthStates: HealthStateStore;
  /** Notifications waiting for delivery, and what was delivered or given up (pruned by the retention sweep). */
  outbox: OutboxStore;
  adapters: Adapters;
  notifier: Notifier;
  metrics: Metrics;
  guard: Guard;
  /** An MCP client linked in-process to warden's own server, as the loop uses it. */
  connectLoopClient(incidentId: string, opts?: { readOnly?: boolean; firstLevel?: boolean }): Promise<InProcessClient>;
  close(): Promise<void>;
}
