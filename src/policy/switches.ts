// The switches a person throws in front of every write: the kill switch (every process, every
// caller) and the loop's safe mode (pause: the loop's writes become dry runs; arm: they run again).
// The command line and the console both switch through here, so each switch is written with its
// audit entry in one transaction and notified the same way whichever way it came. Never called by
// the loop or the model: only warden itself trips safe mode (loop/safe-mode.ts).
import { randomUUID } from 'node:crypto';
import type { Notifier } from '../shared/notifier.js';
import type { AuditInput } from '../store/audit.js';
import type { KillSwitchStore } from '../store/kill-switch.js';
import type { SafeModeStore } from '../store/safe-mode.js';

/** Where a person switched from, as the audit records it. */
export type SwitchTransport = 'cli' | 'console';

interface Audit {
  append(input: AuditInput): unknown;
}

export interface KillSwitchDeps {
  killSwitch: Pick<KillSwitchStore, 'switchTo'>;
  audit: Audit;
  notifier: Notifier;
}

/**
 * Sets the kill switch (audited as killswitch.on/off in the switch's transaction) and notifies.
 * Returns false, writing and notifying nothing, when it was already in that state (judged in the
 * transaction, as pauseLoop does): the switch that stands keeps who set it and why.
 */
export function flipKillSwitch(d: KillSwitchDeps, on: boolean, by: string, reason: string | null, transport: SwitchTransport): boolean {
  const switched = d.killSwitch.switchTo(on, by, reason, () => d.audit.append({
    callId: `killswitch:${randomUUID()}`, principal: by, transport, tool: on ? 'killswitch.on' : 'killswitch.off',
    target: 'killswitch', args: { on, reason }, argsHash: '', phase: 'completed', result: reason,
  }));
  if (!switched) return false;
  d.notifier.send({
    event: 'notify',
    title: on ? `warden: kill switch ON by ${by}: only read tools run` : `warden: kill switch off by ${by}`,
    fields: { by, reason, via: transport },
  });
  return true;
}

export interface LoopSwitchDeps {
  store: Pick<SafeModeStore, 'switchIf'>;
  audit: Audit;
  notifier: Notifier;
}

/** Evidence of a trip, as the audit entry of warden's own switch carries it. */
interface TripSummary {
  rule: string;
  failed: number;
  judged: number;
}

type LoopSwitchTool = 'loop.safe_mode' | 'loop.arm' | 'loop.pause';

/**
 * The audit entry of a safe-mode switch, written in the switch's own transaction: on is warden's
 * own trip (loop.safe_mode) unless `tool` says a person paused it (loop.pause); off is loop.arm.
 */
export function switchEntry(on: boolean, by: string, reason: string, transport: AuditInput['transport'], evidence?: TripSummary, tool?: LoopSwitchTool): AuditInput {
  const name = tool ?? (on ? 'loop.safe_mode' : 'loop.arm');
  return {
    callId: `${name}:${randomUUID()}`, principal: by, transport, tool: name,
    target: 'loop', args: { on, reason, ...(evidence ? { rule: evidence.rule, failed: evidence.failed, judged: evidence.judged } : {}) },
    argsHash: '', phase: 'completed', result: reason.slice(0, 500),
  };
}

/** A person re-arms (resumes) the loop: its writes run again as the policy decides. Returns false when it was not in safe mode. */
export function armLoop(d: LoopSwitchDeps, by: string, reason: string, transport: AuditInput['transport']): boolean {
  if (!d.store.switchIf((s) => s.on, false, by, reason, null, () => d.audit.append(switchEntry(false, by, reason, transport)))) return false;
  d.notifier.send({ event: 'notify', title: `warden: the loop was re-armed by ${by}: its writes run again as the policy decides`, fields: { by, reason, via: transport } });
  return true;
}

/**
 * A person pauses the loop: safe mode on, so its writes are dry runs while it still investigates and
 * escalates, until someone re-arms it. Returns false when it was in safe mode already (warden's own
 * trip or another person's pause stands, with its reason).
 */
export function pauseLoop(d: LoopSwitchDeps, by: string, reason: string, transport: SwitchTransport): boolean {
  if (!d.store.switchIf((s) => !s.on, true, by, reason, null, () => d.audit.append(switchEntry(true, by, reason, transport, undefined, 'loop.pause')))) return false;
  d.notifier.send({ event: 'notify', title: `warden: the loop was paused by ${by}: its writes are dry runs until a person re-arms it`, fields: { by, reason, via: transport } });
  return true;
}
