// Safe mode: the loop watching its own hands. Every write it makes is recorded as an outcome (the
// call failed, or it ran and verification said whether it worked); when they keep failing, the loop
// switches its own writes to dry run, says why with the evidence, and stays there until a human
// re-arms it. It never switches itself back on: a loop that keeps breaking things must not decide
// by itself that it is fine again.
import type { Logger } from '../log.js';
import type { Notifier } from '../shared/notifier.js';
import type { AuditInput } from '../store/audit.js';
import type { LoopOutcome, SafeModeState, SafeModeStore } from '../store/safe-mode.js';
import { switchEntry } from '../policy/switches.js';
import type { LoopConfig } from './config.js';

// A person's switches (arm, pause) live with the kill switch, where the console reaches them too.
export { armLoop, switchEntry } from '../policy/switches.js';

export type SafeModeSettings = LoopConfig['safeMode'];

export interface TripEvidence {
  rule: string;
  failed: number;
  judged: number;
  outcomes: string[];
}

const line = (o: LoopOutcome): string =>
  `${o.time} ${o.ok ? 'ok' : 'FAILED'} ${o.stage} ${o.tool} on ${o.target ?? '?'}${o.incidentId ? ` (${o.incidentId})` : ''}: ${o.detail.slice(0, 160)}`;

/**
 * Whether these outcomes (oldest first, all since the loop was last armed) trip safe mode: the last
 * `consecutive` all failed, or more than `failureRate` of at least `minWrites` in the window failed.
 */
export function tripEvidence(outcomes: readonly LoopOutcome[], s: SafeModeSettings, now: Date): TripEvidence | undefined {
  const last = outcomes.slice(-s.consecutive);
  if (last.length === s.consecutive && last.every((o) => !o.ok)) {
    return { rule: `${s.consecutive} of the loop's writes in a row failed`, failed: last.length, judged: last.length, outcomes: last.map(line) };
  }
  const since = new Date(now.getTime() - s.windowMinutes * 60_000).toISOString();
  const recent = outcomes.filter((o) => o.time > since);
  const failed = recent.filter((o) => !o.ok).length;
  if (recent.length >= s.minWrites && failed / recent.length > s.failureRate) {
    return {
      rule: `${failed} of the loop's last ${recent.length} writes in ${s.windowMinutes} min failed (more than ${Math.round(s.failureRate * 100)} %)`,
      failed, judged: recent.length, outcomes: recent.slice(-10).map(line),
    };
  }
  return undefined;
}

export type OutcomeInput = Omit<LoopOutcome, 'time'>;

export interface SafeModeDeps {
  store: SafeModeStore;
  audit: { append(input: AuditInput): unknown };
  notifier: Notifier;
  log: Logger;
  settings: SafeModeSettings;
}

/** Who switches safe mode on: warden itself, never a person or the model. */
const SELF = 'warden';

export class SafeMode {
  constructor(private readonly d: SafeModeDeps) {}

  state(): SafeModeState {
    return this.d.store.state();
  }

  /** Records one outcome of the loop's writes, then trips safe mode when they keep failing. Never throws. */
  record(o: OutcomeInput, now = new Date()): void {
    try {
      this.d.store.recordOutcome({ ...o, time: now.toISOString() });
      if (!this.d.settings.enabled || o.ok) return;
      const state = this.d.store.state();
      if (state.on) return;
      // Outcomes before the last re-arm were judged by a human already.
      const evidence = tripEvidence(this.d.store.outcomesSince(state.at ?? ''), this.d.settings, now);
      if (evidence) this.trip(evidence, state.at, now);
    } catch (err) {
      this.d.log.error({ err: String(err) }, 'safe mode: the outcome of a loop write could not be recorded or judged');
    }
  }

  /** `judgedSince`: the re-arm the evidence was judged after; a newer re-arm or another trip in between wins. */
  private trip(evidence: TripEvidence, judgedSince: string | null, now: Date): void {
    const reason = evidence.rule;
    const tripped = this.d.store.switchIf((s) => !s.on && s.at === judgedSince, true, SELF, reason, evidence,
      () => this.d.audit.append(switchEntry(true, SELF, reason, 'internal', evidence)), now);
    if (!tripped) return;
    this.d.notifier.send({
      event: 'escalation',
      title: `warden: the loop switched itself to SAFE MODE: ${reason}. Its writes are dry runs until a human re-arms it (warden loop arm --reason TEXT)`,
      fields: { priority: 'high', rule: reason, failed: evidence.failed, judged: evidence.judged, evidence: evidence.outcomes.join('\n') },
    });
    this.d.log.error({ rule: reason, evidence: evidence.outcomes }, 'safe mode ON: the loop\'s writes are dry runs until a human runs warden loop arm');
  }
}
