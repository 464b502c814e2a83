// Silences: Alertmanager-style matchers with an end time. The loop's intake asks `matching` whether
// an alert is covered (it is then recorded, not acted on). Every add and remove is audited in the
// same transaction as the change, so no silence exists that the audit does not show.
import { randomBytes } from 'node:crypto';
import { InputError } from '../errors.js';
import { matcherProblem, matchesAll, matchesEmpty, renderMatchers, type LabelMatcher } from '../shared/label-matchers.js';
import type { AuditLog } from './audit.js';
import { canonicalJson, sha256 } from './canonical.js';
import type { Db } from './db.js';

export const MAX_SILENCE_MS = 30 * 86_400_000;
export const MAX_MATCHERS = 16;
export const MAX_REASON_CHARS = 500;
const MAX_AUDIT_TARGET_CHARS = 200;

export interface Silence {
  id: string;
  createdAt: string;
  createdBy: string;
  startsAt: string;
  endsAt: string;
  reason: string;
  /** All must hold (AND), as in Alertmanager. */
  matchers: LabelMatcher[];
  removedAt: string | null;
  removedBy: string | null;
}

export type SilenceStatus = 'active' | 'expired' | 'removed';

export interface NewSilence {
  matchers: LabelMatcher[];
  endsAt: Date;
  reason: string;
  by: string;
}

/**
 * What an alert is matched on: its labels, plus the pseudo-labels `target` (the canonical target,
 * `host/container`) and `service`, taken from here and never from labels of the same name.
 */
export interface SilenceSubject {
  target: string | null;
  service: string | null;
  labels: Record<string, string>;
}

/** Which part of a new silence is wrong, so a command can name its own flag. */
export interface SilenceProblem {
  field: 'matchers' | 'endsAt' | 'reason' | 'by';
  problem: string;
}

/** Why `s` cannot be added at `now`, or undefined. Pure: commands check before opening anything. */
export function silenceProblem(s: NewSilence, now = new Date()): SilenceProblem | undefined {
  const bad = (field: SilenceProblem['field'], problem: string): SilenceProblem => ({ field, problem });
  if (s.matchers.length === 0) return bad('matchers', 'a silence needs at least one matcher');
  if (s.matchers.length > MAX_MATCHERS) return bad('matchers', `at most ${MAX_MATCHERS} matchers`);
  for (const m of s.matchers) {
    const why = matcherProblem(m);
    if (why) return bad('matchers', why);
  }
  // Alertmanager's rule too: a set that holds for an alert with no labels would silence almost anything.
  if (matchesEmpty(s.matchers)) return bad('matchers', `${renderMatchers(s.matchers)} matches alerts without any labels: at least one matcher must require a value`);
  const ms = s.endsAt.getTime() - now.getTime();
  if (Number.isNaN(ms)) return bad('endsAt', 'not a time');
  if (ms <= 0) return bad('endsAt', `${s.endsAt.toISOString()} is not in the future`);
  if (ms > MAX_SILENCE_MS) return bad('endsAt', `${s.endsAt.toISOString()} is more than 30 days away`);
  if (s.reason.trim() === '') return bad('reason', 'a silence needs a reason');
  if (s.reason.length > MAX_REASON_CHARS) return bad('reason', `at most ${MAX_REASON_CHARS} characters`);
  if (s.by.trim() === '') return bad('by', 'who adds the silence may not be empty');
  return undefined;
}

export function silenceStatus(s: Silence, now = new Date()): SilenceStatus {
  if (s.removedAt) return 'removed';
  return s.endsAt <= now.toISOString() ? 'expired' : 'active';
}

const COLUMNS = `id, created_at AS createdAt, created_by AS createdBy, starts_at AS startsAt, ends_at AS endsAt, reason,
  matchers, removed_at AS removedAt, removed_by AS removedBy`;
type Row = Omit<Silence, 'matchers'> & { matchers: string };

function fromRow(row: Row): Silence {
  return { ...row, matchers: JSON.parse(row.matchers) as LabelMatcher[] };
}

export class SilenceStore {
  constructor(private readonly db: Db, private readonly audit: AuditLog) {}

  /** Adds a silence starting now; throws InputError when silenceProblem finds one. */
  add(s: NewSilence, now = new Date()): Silence {
    const problem = silenceProblem(s, now);
    if (problem) throw new InputError(`${problem.field}: ${problem.problem}`);
    const silence: Silence = {
      id: `sil_${randomBytes(9).toString('base64url')}`,
      createdAt: now.toISOString(), createdBy: s.by, startsAt: now.toISOString(), endsAt: s.endsAt.toISOString(),
      reason: s.reason.trim(), matchers: s.matchers.map(({ name, op, value }) => ({ name, op, value })),
      removedAt: null, removedBy: null,
    };
    this.audit.atomically(() => {
      this.db.prepare(`INSERT INTO silences (id, created_at, created_by, starts_at, ends_at, reason, matchers)
        VALUES (@id, @createdAt, @createdBy, @startsAt, @endsAt, @reason, @matchers)`)
        .run({ ...silence, matchers: JSON.stringify(silence.matchers) });
      this.record('silence.add', silence, `${silence.id} until ${silence.endsAt}: ${silence.reason}`);
    });
    return silence;
  }

  get(id: string): Silence | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM silences WHERE id = ?`).get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Active silences (not removed, not yet ended), newest first; `all` adds expired and removed ones. */
  list(opts: { all?: boolean } = {}, now = new Date()): Silence[] {
    if (opts.all) return (this.db.prepare(`SELECT ${COLUMNS} FROM silences ORDER BY created_at DESC, id DESC`).all() as Row[]).map(fromRow);
    return this.active(now).reverse();
  }

  /** Active silences, oldest first. */
  private active(now: Date): Silence[] {
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM silences WHERE removed_at IS NULL AND starts_at <= @now AND ends_at > @now
      ORDER BY created_at, id`).all({ now: now.toISOString() }) as Row[];
    return rows.map(fromRow);
  }

  /** Ends an active silence now; false when there is none by that id (unknown, expired or already removed). */
  remove(id: string, by: string, now = new Date()): boolean {
    return this.audit.atomically(() => {
      const changed = this.db.prepare(`UPDATE silences SET removed_at = @now, removed_by = @by
        WHERE id = @id AND removed_at IS NULL AND ends_at > @now`).run({ id, by, now: now.toISOString() }).changes;
      if (changed === 0) return false;
      this.record('silence.remove', this.get(id)!, `${id} removed`);
      return true;
    });
  }

  /** The oldest active silence whose matchers all hold for `subject`, if any. */
  matching(subject: SilenceSubject, now = new Date()): Silence | undefined {
    const valueOf = (name: string): string =>
      name === 'target' ? subject.target ?? '' : name === 'service' ? subject.service ?? '' : subject.labels[name] ?? '';
    return this.active(now).find((s) => matchesAll(s.matchers, valueOf));
  }

  private record(tool: 'silence.add' | 'silence.remove', silence: Silence, result: string): void {
    const by = tool === 'silence.add' ? silence.createdBy : silence.removedBy!;
    this.audit.append({
      callId: `silence:${randomBytes(9).toString('base64url')}`, principal: by, transport: 'cli', tool,
      target: renderMatchers(silence.matchers).slice(0, MAX_AUDIT_TARGET_CHARS),
      args: silence, argsHash: sha256(canonicalJson(silence)), phase: 'completed', result: result.slice(0, 1_000),
    });
  }
}
