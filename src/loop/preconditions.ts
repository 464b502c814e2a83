// What the loop checks before each of its writes, beyond the policy (the guard asks, see
// Precondition in policy/call.ts). Whatever the model asks for and whatever a runbook decides:
// - its incident is still open: resolved (by the source, or verified) or escalated means stop;
// - no incident of a service it depends on is open: the dependency is the likelier root cause;
// - a target an operator silenced is not acted on, and a container stopped on purpose through
//   warden is not started again by the loop: either is held for a human, who can approve in one step.
import type { Adapters } from '../adapters/index.js';
import type { Precondition } from '../policy/call.js';
import { ACTIVE_STATUSES, type IncidentLog } from '../shared/incidents.js';
import type { AuditLog } from '../store/audit.js';
import type { InventoryReader } from '../store/readers.js';
import type { SilenceStore } from '../store/silences.js';
import { dependencyIncident } from './correlate.js';

/** The tools whose last completed call on a container says whether someone meant it to be down. */
const STOP_TOOLS = ['stop_container'];
const UP_TOOLS = ['start_container', 'restart_container', 'recreate_container'];

export interface PreconditionDeps {
  adapters: Pick<Adapters, 'docker'>;
  incidents: Pick<IncidentLog, 'get' | 'list'>;
  inventory: InventoryReader;
  audit: Pick<AuditLog, 'lastCompleted'>;
  silences: Pick<SilenceStore, 'matching'>;
}

export function loopPrecondition(d: PreconditionDeps): Precondition {
  return async (caller, call) => {
    const inc = caller.incidentId ? d.incidents.get(caller.incidentId) : undefined;
    if (!inc) return { kind: 'refuse', rule: 'loop.incident', message: `incident ${caller.incidentId ?? '(none)'} does not exist: the loop acts only for an open incident` };
    if (!ACTIVE_STATUSES.includes(inc.status)) {
      return { kind: 'refuse', rule: 'loop.incident-closed', message: `incident ${inc.id} is ${inc.status}${inc.resolution ? ` (${inc.resolution.slice(0, 200)})` : ''}: nothing more runs for it` };
    }
    const parent = (inc.parentId ? d.incidents.get(inc.parentId) : undefined) ?? dependencyIncident(d.incidents as IncidentLog, d.inventory, inc.service, inc.id);
    if (parent && ACTIVE_STATUSES.includes(parent.status)) {
      return {
        kind: 'refuse', rule: 'loop.dependency-open',
        message: `incident ${parent.id} on ${parent.service ?? parent.target ?? 'a dependency'}, which ${inc.service ?? inc.target ?? 'this'} depends on, is open: the loop waits for it before acting`,
      };
    }
    // Held or denied by the policy already: holding it again changes nothing. (A call that carries
    // a human's approval is held here too, so the approval flow checks and consumes that approval.)
    if (call.policy === 'approve' || call.policy === 'deny') return undefined;
    const silence = d.silences.matching({ target: call.target, service: inc.service, labels: {} });
    if (silence) {
      return { kind: 'hold', rule: 'loop.silenced', message: `${call.target} is silenced by ${silence.id} (${silence.createdBy}: ${silence.reason}) until ${silence.endsAt}: the loop does not act on it without a human` };
    }
    if (call.effect === 'restart') {
      const last = d.audit.lastCompleted(call.target, [...STOP_TOOLS, ...UP_TOOLS]);
      if (last && STOP_TOOLS.includes(last.tool)) {
        return {
          kind: 'hold', rule: 'loop.operator-stopped',
          message: `${call.target} was stopped on purpose by ${last.principal} at ${last.time} (${last.tool} through warden): the loop does not start it again without a human`,
        };
      }
      return dockerSaysLeaveIt(d, call);
    }
    return undefined;
  };
}

/** Signals that ask a process to end; a kill with another (HUP for a reload) is no stop. */
const STOPPING_SIGNALS = new Set(['15', 'SIGTERM', 'TERM', '9', 'SIGKILL', 'KILL', '2', 'SIGINT', 'INT', '3', 'SIGQUIT', 'QUIT']);
/** Reading Docker's past events must not hold the call up: past this, no answer is no objection. */
const EVENTS_TIMEOUT_MS = 3_000;

/**
 * What Docker itself says of the container's intent: a maintenance label, or a stop or kill asked
 * of Docker (by a person: warden's own are in the audit) since it last started. Docker's own
 * failure to answer is no objection here: the tool then fails on its own.
 */
async function dockerSaysLeaveIt(d: PreconditionDeps, call: { target: string; targetId?: string }): ReturnType<Precondition> {
  const slash = call.target.indexOf('/');
  if (slash < 0) return undefined;
  const host = call.target.slice(0, slash);
  const name = call.target.slice(slash + 1);
  try {
    const docker = d.adapters.docker(host);
    const state = await docker.containerState(call.targetId ?? name);
    if (state.labels[MAINTENANCE_LABEL] === 'true') {
      return { kind: 'hold', rule: 'loop.maintenance', message: `${call.target} carries the label ${MAINTENANCE_LABEL}=true: it is down for maintenance; the loop does not start it without a human` };
    }
    if (state.running || state.restarting) return undefined;
    const since = Math.max(0, Date.parse(state.startedAt) / 1000);
    const events = await docker.pastEvents({ type: ['container'], container: [state.id], event: ['kill', 'stop'] }, since, Date.now() / 1000, AbortSignal.timeout(EVENTS_TIMEOUT_MS));
    const stop = events.filter((e) => e.action === 'stop' || STOPPING_SIGNALS.has(e.attributes.signal ?? '')).at(-1);
    if (!stop) return undefined;
    const at = new Date(stop.timeNano / 1e6).toISOString();
    const how = stop.action === 'stop' ? 'docker stop' : `docker kill (signal ${stop.attributes.signal})`;
    return {
      kind: 'hold', rule: 'loop.operator-stopped',
      message: `${call.target} was stopped outside warden at ${at} (${how}; Docker does not say by whom): it may be on purpose, so the loop does not start it without a human`,
    };
  } catch {
    return undefined;
  }
}

/** The label that tells warden's loop to leave a container alone. */
export const MAINTENANCE_LABEL = 'warden.maintenance';
