// What the loop checks before each of its writes, beyond the policy (the guard asks, see
// Precondition in policy/call.ts). Whatever the model asks for and whatever a runbook decides:
// - its incident is still open: resolved (by the source, or verified) or escalated means stop;
// - no incident of a service it depends on is open: the dependency is the likelier root cause;
// - a target an operator silenced is not acted on, and a container someone stopped on purpose
//   (through warden, or with docker stop / kill) or labelled for maintenance is not started
//   again by the loop: these are held for a human, who can approve in one step.
import type { Adapters } from '../adapters/index.js';
import type { Precondition, PreconditionCall, PreconditionVerdict } from '../policy/call.js';
import { ACTIVE_STATUSES, type IncidentLog } from '../shared/incidents.js';
import { CONTAINER_START_TOOLS, CONTAINER_STOP_TOOLS } from '../shared/containers.js';
import { isLoopPrincipal } from '../shared/roles.js';
import type { AuditLog } from '../store/audit.js';
import type { InventoryReader } from '../store/readers.js';
import type { SilenceStore } from '../store/silences.js';
import { dependencyIncident } from './correlate.js';

/** The label that tells warden's loop to leave a container alone. */
export const MAINTENANCE_LABEL = 'warden.maintenance';

/** warden's own calls that stop or (re)start a container, and leave kill/stop events behind. */
const DOCKER_WRITES = [...CONTAINER_STOP_TOOLS, ...CONTAINER_START_TOOLS];
/** Signals that ask a process to end; a kill with another (HUP for a reload) is no stop. */
const STOPPING_SIGNALS = new Set(['15', 'SIGTERM', 'TERM', '9', 'SIGKILL', 'KILL', '2', 'SIGINT', 'INT', '3', 'SIGQUIT', 'QUIT']);
/** Asking Docker must not hold the call up: past this, no answer is no objection. */
const DOCKER_TIMEOUT_MS = 3_000;
/** Slack around warden's own calls when telling its kill/stop events from a person's. */
const OWN_EVENT_SLACK_MS = 2_000;

export interface PreconditionDeps {
  adapters: Pick<Adapters, 'docker'>;
  incidents: Pick<IncidentLog, 'get' | 'list'>;
  inventory: InventoryReader;
  audit: Pick<AuditLog, 'callsOn' | 'stopIntent'>;
  silences: Pick<SilenceStore, 'matching'>;
}

export function loopPrecondition(d: PreconditionDeps): Precondition {
  return {
    check: (caller, call) => storeSays(d, caller.incidentId, call),
    inspect: async (caller, call) => {
      if (call.policy === 'approve' || call.policy === 'deny') return undefined;
      // A configuration change may start the container (update_container_resources after an OOM)
      // or act on one under maintenance: a person's intent holds it like a restart.
      if (call.effect === 'restart' || call.effect === 'config' || call.effect === 'rollback') return dockerSays(d, call);
      // A vetted command run for the incident (a compose up, a service restart) may bring its
      // container back as well: the same intent holds it.
      const inc = call.effect === 'exec' && caller.incidentId ? d.incidents.get(caller.incidentId) : undefined;
      return inc?.target && inc.container ? dockerSays(d, { tool: call.tool, effect: call.effect, target: inc.target, policy: call.policy }) : undefined;
    },
  };
}

/** From the store alone, inside the admission: the incident, its dependencies, silences. */
function storeSays(d: PreconditionDeps, incidentId: string | undefined, call: PreconditionCall): PreconditionVerdict {
  const inc = incidentId ? d.incidents.get(incidentId) : undefined;
  if (!inc) return { kind: 'refuse', rule: 'loop.incident', message: `incident ${incidentId ?? '(none)'} does not exist: the loop acts only for an open incident` };
  if (!ACTIVE_STATUSES.includes(inc.status)) {
    return { kind: 'refuse', rule: 'loop.incident-closed', message: `incident ${inc.id} is ${inc.status}${inc.resolution ? ` (${inc.resolution.slice(0, 200)})` : ''}: nothing more runs for it` };
  }
  // The recorded parent first, then any other dependency with an open incident: a closed parent hides none.
  const recorded = inc.parentId ? d.incidents.get(inc.parentId) : undefined;
  const parent = recorded && ACTIVE_STATUSES.includes(recorded.status) ? recorded : dependencyIncident(d.incidents as IncidentLog, d.inventory, inc.service, inc.id);
  if (parent && ACTIVE_STATUSES.includes(parent.status)) {
    return {
      kind: 'refuse', rule: 'loop.dependency-open',
      message: `incident ${parent.id} on ${parent.service ?? parent.target ?? 'a dependency'}, which ${inc.service ?? inc.target ?? 'this'} depends on, is open: the loop waits for it before acting`,
    };
  }
  // Held or denied by the policy already: holding it again changes nothing. (A call that carries
  // a human's approval is held here too, so the approval flow checks and consumes that approval.)
  if (call.policy === 'approve' || call.policy === 'deny') return undefined;
  // The call's target, or the incident's (a write for it on another target: a runbook, a reload).
  for (const target of new Set([call.target, ...(inc.target ? [inc.target] : [])])) {
    const silence = d.silences.matching({ target, service: inc.service, labels: {} });
    if (silence) {
      return { kind: 'hold', rule: 'loop.silenced', message: `${target} is silenced by ${silence.id} (${silence.createdBy}: ${silence.reason}) until ${silence.endsAt}: the loop does not act on it without a human` };
    }
  }
  return undefined;
}

/**
 * What the container's history says of someone's intent since it last started: a stop through
 * warden by a person (the loop's own stops do not count), a maintenance label, or a stop or kill
 * asked of Docker outside warden's own calls. When Docker does not answer in time, only warden's
 * audit speaks: the tool then fails on its own if Docker is down.
 */
async function dockerSays(d: PreconditionDeps, call: PreconditionCall): Promise<PreconditionVerdict> {
  const slash = call.target.indexOf('/');
  if (slash < 0) return undefined;
  const host = call.target.slice(0, slash);
  const name = call.target.slice(slash + 1);
  const signal = AbortSignal.timeout(DOCKER_TIMEOUT_MS);
  const docker = d.adapters.docker(host);
  const state = await within(docker.containerState(call.targetId ?? name), signal);
  // Since its last start; without Docker's answer, the last day of the audit.
  const since = state ? state.startedAt : new Date(Date.now() - 86_400_000).toISOString();
  const mine = d.audit.callsOn(call.target, DOCKER_WRITES, since.startsWith('0001') ? '' : since);
  // Held apart from the audit (archiving never loses it); a start outside warden since then ends it,
  // since the container's StartedAt is then newer than the stop. StartedAt is the Docker host's clock
  // and the stop warden's: only clearly newer counts, so a host clock ahead cannot erase a stop.
  const stop = d.audit.stopIntent(call.target);
  const startedSince = stop && state && !state.startedAt.startsWith('0001') && Date.parse(state.startedAt) > Date.parse(stop.time) + OWN_EVENT_SLACK_MS;
  if (stop && !startedSince) {
    return {
      kind: 'hold', rule: 'loop.operator-stopped',
      message: `${call.target} was stopped on purpose by ${stop.principal} at ${stop.time} (stop_container through warden): the loop does not start it again without a human`,
    };
  }
  if (!state) return undefined;
  if (state.labels[MAINTENANCE_LABEL] === 'true') {
    return { kind: 'hold', rule: 'loop.maintenance', message: `${call.target} carries the label ${MAINTENANCE_LABEL}=true: it is down for maintenance; the loop does not start it without a human` };
  }
  if (state.running || state.restarting) return undefined;
  const startMs = Date.parse(state.startedAt);
  const events = await within(docker.pastEvents({ type: ['container'], container: [state.id], event: ['kill', 'stop'] }, Math.max(0, startMs / 1000), Date.now() / 1000, signal), signal);
  // warden's own calls (a restart that stopped it and failed to start it again) are not a person's;
  // a person's stop_container through warden is, whatever its outcome says.
  const own = mine.filter((c) => !(CONTAINER_STOP_TOOLS.includes(c.tool) && !isLoopPrincipal(c.principal)));
  const ownWindow = (ms: number): boolean => own.some((c) => ms >= Date.parse(c.time) - OWN_EVENT_SLACK_MS && ms <= Date.parse(c.endedAt ?? new Date().toISOString()) + OWN_EVENT_SLACK_MS);
  const byPerson = (events ?? []).filter((e) => (e.action === 'stop' || STOPPING_SIGNALS.has(e.attributes.signal ?? '')) && !ownWindow(e.timeNano / 1e6)).at(-1);
  if (!byPerson) return undefined;
  const at = new Date(byPerson.timeNano / 1e6).toISOString();
  const how = byPerson.action === 'stop' ? 'docker stop' : `docker kill (signal ${byPerson.attributes.signal})`;
  return {
    kind: 'hold', rule: 'loop.operator-stopped',
    message: `${call.target} was stopped outside warden at ${at} (${how}; Docker does not say by whom): it may be on purpose, so the loop does not start it without a human`,
  };
}

/** `p`'s value, or undefined when it fails or `signal` ends first. */
async function within<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  p.catch(() => undefined);
  if (signal.aborted) return undefined;
  return Promise.race([
    p.catch(() => undefined),
    new Promise<undefined>((resolve) => signal.addEventListener('abort', () => resolve(undefined), { once: true })),
  ]);
}
