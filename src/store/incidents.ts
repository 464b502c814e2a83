// Incidents: what went wrong, where, and how it ended, with a timeline of what the loop saw and
// did. The loop writes them through IncidentLog; search_incidents reads them through FTS5 so
// Claude can learn from how similar failures were resolved. A change and its timeline entry are
// written in one transaction: the timeline never disagrees with the incident.
import { randomBytes } from 'node:crypto';
import type { NormalizedAlert } from '../shared/alerts.js';
import {
  ACTIVE_STATUSES, type Incident, type IncidentLog, type IncidentPatch, type IncidentStatus, type ModelCall, type TimelineEvent, type TimelineKind,
} from '../shared/incidents.js';
import type Database from 'better-sqlite3';
import { InvalidTransition, nextStatus, type IncidentEvent } from '../shared/incident-machine.js';
import { statementCache, type Db } from './db.js';
import type { AuditLog } from './audit.js';
import { cannotValidate, cleanText, validationEntry, validationOf, validator, ValidationRefused, type ValidationTransport } from './incident-validation.js';
import type { IncidentReader, IncidentSummary } from './readers.js';

const SUMMARY = `i.id, i.opened_at AS openedAt, i.closed_at AS closedAt, i.status, i.target, i.title, i.resolution,
  i.validated_by AS validatedBy, i.validated_at AS validatedAt, i.validated_note AS validatedNote`;
const COLUMNS = `id, fingerprint, status, source, COALESCE(severity, 'warning') AS severity, title, summary, target, host, container, service,
  opened_at AS openedAt, updated_at AS updatedAt, closed_at AS closedAt, resolution, alert_count AS alertCount,
  parent_id AS parentId, waiting_on AS waitingOn, attempts, flaps, validated_by AS validatedBy, validated_at AS validatedAt, validated_note AS validatedNote`;
const ACTIVE_SQL = ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ');
const CLOSED: readonly IncidentStatus[] = ['resolved', 'escalated'];
/** Payload bodies are kept up to this many bytes; the rest is cut (and the cut is marked). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
const TITLE_CHARS = 200;
/** The timeline keeps an incident's first alerts and then every Nth; alert_count stays exact. */
const TIMELINE_FIRST_ALERTS = 20;
const TIMELINE_EVERY_NTH_ALERT = 100;
/**
 * How much more a validated fix's relevance counts in search_incidents (bm25 is negative, lower is
 * better, so its rank is multiplied). 1.5: ahead of an equal or slightly better match, behind one
 * matching clearly more of the words.
 */
export const VALIDATED_BOOST = 1.5;
const SEVERITY_RANK: Record<string, number> = { info: 0, warning: 1, critical: 2 };

/** FTS5 query syntax is a language of its own; user text is matched as plain words, never parsed as it. */
export function ftsQuery(text: string): string {
  const words = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
  return words.slice(0, 12).map((w) => `"${w}"`).join(' OR ');
}

export function newIncidentId(): string {
  return `inc_${randomBytes(5).toString('hex')}`;
}

/** At most `maxBytes` of UTF-8, never splitting a character. */
export function capUtf8(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  return buf.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
}

export interface PayloadRecord {
  id: number;
  receivedAt: string;
  source: string;
  outcome: 'accepted' | 'ignored' | 'rejected';
  reason: string | null;
  body: string;
  incidentIds: string[];
}

export interface IncidentListOptions {
  status?: IncidentStatus | 'active';
  service?: string;
  since?: string;
  until?: string;
  limit?: number;
}

/** A row of model_calls as stored. */
export type RecordedModelCall = ModelCall & { id: number; time: string };

type SummaryRow = Omit<IncidentSummary, 'validated' | 'validation'> & Pick<Incident, 'validatedBy' | 'validatedAt' | 'validatedNote'>;

function summary({ validatedBy, validatedAt, validatedNote, ...row }: SummaryRow): IncidentSummary {
  const v = validationOf({ validatedBy, validatedAt, validatedNote });
  return v ? { ...row, validated: true, validation: v } : { ...row, validated: false };
}

type Patch = IncidentPatch & { status?: IncidentStatus };
type EventInput = { kind: TimelineKind; summary: string; data?: unknown };

const PATCH_COLUMNS: Record<keyof Patch, string> = {
  status: 'status', resolution: 'resolution', parentId: 'parent_id', waitingOn: 'waiting_on', attempts: 'attempts', flaps: 'flaps', severity: 'severity',
};

export class IncidentStore implements IncidentLog, IncidentReader {
  /** Statements prepared once: a storm of alerts runs the same few statements thousands of times. */
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(private readonly db: Db, private readonly now: () => Date = () => new Date()) {
    this.stmt = statementCache(db);
  }


  /**
   * By relevance (FTS5's bm25), a fix a person validated counting VALIDATED_BOOST times its own: it
   * outranks one that matches about as well, never one that matches clearly better (the loop's
   * query holds the target, so every validated fix on the host shares a word with it). Without
   * words it is "the latest", so newest first, validated or not.
   */
  search(text: string, limit: number): IncidentSummary[] {
    const query = ftsQuery(text);
    if (query === '') {
      return (this.stmt(`SELECT ${SUMMARY} FROM incidents i ORDER BY i.opened_at DESC LIMIT ?`).all(limit) as SummaryRow[]).map(summary);
    }
    return (this.db
      .prepare(`SELECT ${SUMMARY} FROM incidents_fts f JOIN incidents i ON i.rowid = f.rowid
        WHERE incidents_fts MATCH ? ORDER BY bm25(incidents_fts) * (CASE WHEN i.validated_at IS NULL THEN 1 ELSE ? END), i.opened_at DESC LIMIT ?`)
      .all(query, VALIDATED_BOOST, limit) as SummaryRow[]).map(summary);
  }

  /**
   * A person confirms a resolved incident's fix, with a note; audited as incident.validate in the
   * audit's own transaction, so no validation stands that the audit does not show. One standing
   * validation: a second is refused naming the first (withdraw it with `unvalidate`). updated_at is
   * left alone: it tells when the incident itself last moved, which reports time by.
   */
  validate(id: string, req: { by: string; note: string; transport: ValidationTransport }, audit: Pick<AuditLog, 'atomically' | 'append'>): Incident {
    const by = validator(req.by);
    const note = cleanText('note', req.note);
    return audit.atomically(() => {
      const before = this.existing(id);
      const why = cannotValidate(before);
      if (why) throw new ValidationRefused(why, 'state');
      const at = this.now().toISOString();
      this.stmt(`UPDATE incidents SET validated_by = ?, validated_at = ?, validated_note = ? WHERE id = ? AND status = 'resolved' AND validated_at IS NULL`)
        .run(by, at, note, id);
      audit.append(validationEntry('incident.validate', id, by, req.transport, { incidentId: id, note, resolution: before.resolution },
        `${id} validated by ${by}: ${note}`));
      return this.get(id)!;
    });
  }

  /** The incident to validate or withdraw, or the refusal that names how to find the ids. */
  private existing(id: string): Incident {
    const found = this.get(id);
    if (!found) throw new ValidationRefused(`no incident ${id}; \`warden incidents list\` shows the ids`, 'unknown');
    return found;
  }

  /** Withdraws the standing validation (it loses its boost in search), with a reason; audited as incident.unvalidate. */
  unvalidate(id: string, req: { by: string; reason: string; transport: ValidationTransport }, audit: Pick<AuditLog, 'atomically' | 'append'>): Incident {
    const by = validator(req.by);
    const reason = cleanText('reason', req.reason);
    return audit.atomically(() => {
      const before = this.existing(id);
      const was = validationOf(before);
      if (!was) throw new ValidationRefused(`incident ${id} is not validated: nothing to withdraw`, 'state');
      this.stmt('UPDATE incidents SET validated_by = NULL, validated_at = NULL, validated_note = NULL WHERE id = ?').run(id);
      audit.append(validationEntry('incident.unvalidate', id, by, req.transport, { incidentId: id, reason, was },
        `${id}: validation by ${was.by} withdrawn by ${by}: ${reason}`));
      return this.get(id)!;
    });
  }

  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  get(id: string): Incident | undefined {
    return this.stmt(`SELECT ${COLUMNS} FROM incidents WHERE id = ?`).get(id) as Incident | undefined;
  }

  /**
   * Newest first; without a limit, all of them. `service` matches exactly; `since` and `until`
   * (stored ISO times, inclusive) bound when an incident opened (the console's filters). Read in
   * order through incidents_opened, incidents_service or incidents_status, so a limited list costs
   * its own rows; only `active` (several statuses) sorts what matches, the few incidents still open.
   */
  list(opts: IncidentListOptions = {}): Incident[] {
    const { status, limit, ...rest } = opts;
    const where = status === undefined ? [] : [status === 'active' ? `status IN (${ACTIVE_SQL})` : 'status = @status'];
    const values: Record<string, unknown> = status === undefined || status === 'active' ? {} : { status };
    for (const [key, sql] of [['service', 'service = @service'], ['since', 'opened_at >= @since'], ['until', 'opened_at <= @until']] as const) {
      if (rest[key] === undefined) continue;
      where.push(sql);
      values[key] = rest[key];
    }
    if (limit !== undefined) values.limit = limit;
    return this.stmt(`SELECT ${COLUMNS} FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY opened_at DESC, rowid DESC ${limit === undefined ? '' : 'LIMIT @limit'}`).all(values) as Incident[];
  }

  /** How many incidents are active, by status: one grouped count, never the rows (a storm holds thousands). */
  countActive(): Record<string, number> {
    const rows = this.stmt(`SELECT status, count(*) AS n FROM incidents WHERE status IN (${ACTIVE_SQL}) GROUP BY status`).all() as Array<{ status: string; n: number }>;
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  timeline(id: string): TimelineEvent[] {
    const rows = this.stmt(`SELECT id, incident_id AS incidentId, time, kind, summary, data FROM incident_events WHERE incident_id = ? ORDER BY id`)
      .all(id) as Array<Omit<TimelineEvent, 'data'> & { data: string | null }>;
    return rows.map((r) => ({ ...r, data: r.data === null ? null : (JSON.parse(r.data) as unknown) }));
  }

  /** The newest `limit` timeline events, oldest first (the console: a storm's timeline is not read whole). */
  timelineTail(id: string, limit: number): TimelineEvent[] {
    const rows = this.stmt(`SELECT * FROM (SELECT id, incident_id AS incidentId, time, kind, summary, data FROM incident_events
        WHERE incident_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id`)
      .all(id, limit) as Array<Omit<TimelineEvent, 'data'> & { data: string | null }>;
    return rows.map((r) => ({ ...r, data: r.data === null ? null : (JSON.parse(r.data) as unknown) }));
  }

  /** The newest `limit` model calls made for this incident, oldest first, through model_calls_incident. */
  modelCalls(id: string, limit: number): RecordedModelCall[] {
    return this.stmt(`SELECT * FROM (SELECT id, incident_id AS incidentId, time, model, input_tokens AS inputTokens, output_tokens AS outputTokens,
        latency_ms AS latencyMs, cost_usd AS costUsd, outcome, level FROM model_calls WHERE incident_id = ? ORDER BY time DESC, id DESC LIMIT ?)
      ORDER BY time, id`).all(id, limit) as RecordedModelCall[];
  }

  /** Every model call of this incident added up (its own rows only, through model_calls_incident). */
  modelTotals(id: string): { calls: number; inputTokens: number; outputTokens: number; costUsd: number } {
    return this.stmt(`SELECT count(*) AS calls, COALESCE(SUM(input_tokens), 0) AS inputTokens, COALESCE(SUM(output_tokens), 0) AS outputTokens,
      COALESCE(SUM(cost_usd), 0) AS costUsd FROM model_calls WHERE incident_id = ?`)
      .get(id) as { calls: number; inputTokens: number; outputTokens: number; costUsd: number };
  }

  findActive(by: { fingerprint?: string; target?: string }): Incident | undefined {
    const find = (column: 'fingerprint' | 'target', value: string): Incident | undefined =>
      this.stmt(`SELECT ${COLUMNS} FROM incidents WHERE ${column} = ? AND status IN (${ACTIVE_SQL}) ORDER BY opened_at DESC, rowid DESC LIMIT 1`)
        .get(value) as Incident | undefined;
    return (by.fingerprint !== undefined ? find('fingerprint', by.fingerprint) : undefined)
      ?? (by.target !== undefined ? find('target', by.target) : undefined);
  }

  lastClosed(by: { fingerprint: string; target?: string | null }): Incident | undefined {
    const newest = (column: 'fingerprint' | 'target', value: string): Incident | undefined =>
      this.stmt(`SELECT ${COLUMNS} FROM incidents WHERE ${column} = ? AND closed_at IS NOT NULL ORDER BY closed_at DESC, rowid DESC LIMIT 1`)
        .get(value) as Incident | undefined;
    const byPrint = newest('fingerprint', by.fingerprint);
    const byTarget = by.target ? newest('target', by.target) : undefined;
    if (!byPrint || !byTarget) return byPrint ?? byTarget;
    return byTarget.closedAt! > byPrint.closedAt! ? byTarget : byPrint;
  }

  create(alert: NormalizedAlert, where: { target: string | null; host: string | null; container: string | null; service: string | null }): Incident {
    const id = newIncidentId();
    const at = this.now().toISOString();
    const title = (alert.summary.split('\n')[0] ?? '').slice(0, TITLE_CHARS) || alert.fingerprint.slice(0, TITLE_CHARS);
    const summary = alert.annotations.description ?? alert.summary;
    this.db.transaction(() => {
      this.stmt(`INSERT INTO incidents (id, fingerprint, opened_at, updated_at, status, source, target, severity, title, summary,
          host, container, service, alert_count, last_alert_at)
        VALUES (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`)
        .run(id, alert.fingerprint, at, at, alert.source, where.target, alert.severity, title, summary, where.host, where.container, where.service, at);
      this.insertEvent(id, at, 'alert', `${alert.source} ${alert.status}: ${alert.summary}`, alertData(alert));
    }).immediate();
    return this.get(id)!;
  }

  addAlert(id: string, alert: NormalizedAlert): void {
    const at = this.now().toISOString();
    this.db.transaction(() => {
      const row = this.stmt('SELECT alert_count AS n, severity FROM incidents WHERE id = ?').get(id) as { n: number; severity: string | null } | undefined;
      if (!row) throw new Error(`no incident ${id}`);
      const n = row.n + 1;
      const severity = alert.status === 'firing' && (SEVERITY_RANK[alert.severity] ?? 1) > (SEVERITY_RANK[row.severity ?? 'warning'] ?? 1) ? alert.severity : row.severity;
      this.stmt('UPDATE incidents SET alert_count = ?, last_alert_at = ?, updated_at = ?, severity = ? WHERE id = ?').run(n, at, at, severity, id);
      if (n <= TIMELINE_FIRST_ALERTS || n % TIMELINE_EVERY_NTH_ALERT === 0 || alert.status === 'resolved') {
        this.insertEvent(id, at, 'alert', `${alert.source} ${alert.status} (alert ${n}): ${alert.summary}`, alertData(alert));
      }
    }).immediate();
  }

  update(id: string, patch: IncidentPatch, event?: EventInput): Incident {
    if ('status' in patch) throw new Error('a status changes only through transition()');
    return this.write(id, patch, event);
  }

  transition(id: string, event: IncidentEvent, summary: string, patch: IncidentPatch = {}, opts: { kind?: TimelineKind; data?: unknown } = {}): Incident {
    return this.db.transaction(() => {
      const before = this.get(id);
      if (!before) throw new Error(`no incident ${id}`);
      const to = nextStatus(before.status, event);
      if (!to) throw new InvalidTransition(id, before.status, event);
      // A waiting incident always says on what: the tick re-examines it by that.
      if (to === 'waiting_approval' && !(patch.waitingOn ?? before.waitingOn)) throw new InvalidTransition(id, before.status, event, 'no approval to wait on');
      if (to === 'waiting_dependency' && !(patch.parentId ?? before.parentId)) throw new InvalidTransition(id, before.status, event, 'no dependency incident to wait on');
      const reason = before.status === to ? summary : `${before.status} -> ${to}: ${summary}`;
      return this.write(id, { ...patch, status: to }, { kind: opts.kind ?? 'status', summary: reason.slice(0, 2_000), data: opts.data });
    }).immediate();
  }

  private write(id: string, patch: Patch, event?: EventInput): Incident {
    const at = this.now().toISOString();
    this.db.transaction(() => {
      const before = this.get(id);
      if (!before) throw new Error(`no incident ${id}`);
      const sets = ['updated_at = @at'];
      const values: Record<string, unknown> = { id, at };
      for (const [key, column] of Object.entries(PATCH_COLUMNS) as Array<[keyof Patch, string]>) {
        if (patch[key] === undefined) continue;
        sets.push(`${column} = @${key}`);
        values[key] = patch[key];
      }
      if (patch.status !== undefined && patch.status !== before.status) {
        // Closing stamps closed_at once; anything that makes it active again clears it.
        if (CLOSED.includes(patch.status)) sets.push('closed_at = COALESCE(closed_at, @at)');
        else sets.push('closed_at = NULL');
      }
      this.stmt(`UPDATE incidents SET ${sets.join(', ')} WHERE id = @id`).run(values);
      if (event) this.insertEvent(id, at, event.kind, event.summary, event.data);
    }).immediate();
    return this.get(id)!;
  }

  addEvent(id: string, kind: TimelineKind, summary: string, data?: unknown): void {
    const at = this.now().toISOString();
    this.db.transaction(() => {
      this.insertEvent(id, at, kind, summary, data);
      this.stmt('UPDATE incidents SET updated_at = ? WHERE id = ?').run(at, id);
    }).immediate();
  }

  recordModelCall(call: ModelCall): void {
    this.stmt(`INSERT INTO model_calls (incident_id, time, model, input_tokens, output_tokens, latency_ms, cost_usd, outcome, level)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(call.incidentId, this.now().toISOString(), call.model, call.inputTokens, call.outputTokens, Math.round(call.latencyMs), call.costUsd, call.outcome, call.level ?? 2);
  }

  costSince(since: Date): number {
    const row = this.stmt('SELECT COALESCE(SUM(cost_usd), 0) AS usd FROM model_calls WHERE time >= ?').get(since.toISOString()) as { usd: number };
    return row.usd;
  }

  recordPayload(entry: { source: string; outcome: 'accepted' | 'ignored' | 'rejected'; reason?: string; body: string; incidentIds?: string[] }): void {
    this.stmt('INSERT INTO alert_payloads (received_at, source, outcome, reason, body, incident_ids) VALUES (?, ?, ?, ?, ?, ?)')
      .run(this.now().toISOString(), entry.source, entry.outcome, entry.reason ?? null, capUtf8(entry.body, MAX_PAYLOAD_BYTES), JSON.stringify(entry.incidentIds ?? []));
  }

  /** Recorded payloads, newest first. */
  payloads(opts: { limit?: number; outcome?: PayloadRecord['outcome'] } = {}): PayloadRecord[] {
    const rows = this.stmt(`SELECT id, received_at AS receivedAt, source, outcome, reason, body, incident_ids AS incidentIds FROM alert_payloads
      ${opts.outcome ? 'WHERE outcome = @outcome' : ''} ORDER BY id DESC LIMIT @limit`)
      .all({ limit: opts.limit ?? 100, ...(opts.outcome ? { outcome: opts.outcome } : {}) }) as Array<Omit<PayloadRecord, 'incidentIds'> & { incidentIds: string }>;
    return rows.map((r) => ({ ...r, incidentIds: JSON.parse(r.incidentIds) as string[] }));
  }

  private insertEvent(id: string, at: string, kind: TimelineKind, summary: string, data: unknown): void {
    this.stmt('INSERT INTO incident_events (incident_id, time, kind, summary, data) VALUES (?, ?, ?, ?, ?)')
      .run(id, at, kind, summary, data === undefined ? null : JSON.stringify(data));
  }
}

function alertData(alert: NormalizedAlert): unknown {
  return { source: alert.source, fingerprint: alert.fingerprint, status: alert.status, severity: alert.severity, startsAt: alert.startsAt, labels: alert.labels };
}
