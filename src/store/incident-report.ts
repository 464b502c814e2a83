// `warden report`'s figures (docs/report.md): detection and repair times, how incidents ended,
// recurrence, the top recurring causes and model spend, over the incidents opened since a time.
// Read-only: it never writes. One bounded read of the incidents through incidents_opened, each
// with its first alert and first passing verification (incident_events_incident) and whether a
// person decided for it or a write ran for it (audit_incident); model spend through model_calls_time.
import { isAlertStart } from '../shared/alerts.js';
import { RESERVED_PRINCIPALS } from '../shared/roles.js';
import { TERMINAL_STATUSES, type IncidentStatus } from '../shared/incident-machine.js';
import type { Db } from './db.js';
import {
  RECURRENCE_WINDOW_MS, durationFigure, normaliseCause, rateFigure, recurringIds, recurringPatterns,
  type CauseRow, type DurationFigure, type RateFigure, type RecurringPattern,
} from './report-figures.js';

export type { DurationFigure, RateFigure, RecurringPattern } from './report-figures.js';

/** The most incidents one report reads (the newest); past it the report says `capped`. */
export const REPORT_MAX_INCIDENTS = 50_000;
/** Models listed in the spend by model; the totals count every call. */
const SPEND_MODELS = 20;
/** A start before this is a zero or placeholder time (Go's 0001-01-01 from a sender), not a start. */
const EARLIEST_START = Date.parse('2000-01-01T00:00:00Z');

export interface ModelSpend {
  calls: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  byModel: Array<{ model: string; calls: number; costUsd: number }>;
}

export interface IncidentReport {
  /** The window: incidents opened at or after `since`, up to `until` (when the report was made). */
  since: string;
  until: string;
  incidents: { opened: number; open: number; closed: number; resolved: number; escalated: number };
  mttd: DurationFigure;
  mttrRunning: DurationFigure;
  mttrResolved: DurationFigure;
  autoFix: RateFigure;
  escalation: RateFigure;
  falsePositive: RateFigure;
  recurrence: RateFigure & { windowDays: number };
  patterns: RecurringPattern[];
  modelSpend: ModelSpend;
  /** More than REPORT_MAX_INCIDENTS opened in the window: the figures cover the newest that many, from `coveredFrom`. */
  capped: boolean;
  coveredFrom: string;
}

interface Row {
  id: string;
  fingerprint: string;
  openedAt: string;
  closedAt: string | null;
  status: IncidentStatus;
  target: string | null;
  service: string | null;
  host: string | null;
  title: string;
  firstAlertStatus: string | null;
  startsAt: unknown;
  runningAt: string | null;
  human: 0 | 1;
  acted: 0 | 1;
}

const quoted = (values: readonly string[]): string => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');
// A person's decision: an approval decided (or accepted in the client) under a principal that is
// not warden's own (the loop, its first level, chaos, warden cancelling). The loop's 'rejected' entry for a declined call is the loop's, not a person's.
const PEOPLE = `a.principal NOT IN (${quoted(RESERVED_PRINCIPALS)})`;
// An action: a write-tier call of this incident that ran to completion, not a dry run. Chaos's
// injections are faults, never a fix.
const WRITES = `a.risk IN ('low', 'medium', 'high') AND a.phase = 'completed' AND a.dry_run = 0 AND a.principal != 'chaos'`;
// Each subquery reads one incident's own rows through its index: (incident_id, id) for the
// timeline, (incident_id, seq) for the audit. A storm's timeline is kept short by the store.
// A passing verification counts only up to the close: one under way when the source resolved the
// incident lands after closed_at, and the target was not "running" later than it was resolved.
const ROWS = `SELECT i.id, i.fingerprint, i.opened_at AS openedAt, i.closed_at AS closedAt, i.status, i.target, i.service, i.host, i.title,
  (SELECT CASE WHEN json_valid(e.data) THEN json_extract(e.data, '$.status') END FROM incident_events e
    WHERE e.incident_id = i.id AND e.kind = 'alert' ORDER BY e.id LIMIT 1) AS firstAlertStatus,
  (SELECT CASE WHEN json_valid(e.data) THEN json_extract(e.data, '$.startsAt') END FROM incident_events e
    WHERE e.incident_id = i.id AND e.kind = 'alert' ORDER BY e.id LIMIT 1) AS startsAt,
  (SELECT e.time FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'verify'
    AND (i.closed_at IS NULL OR e.time <= i.closed_at)
    AND json_valid(e.data) AND json_extract(e.data, '$.ok') = 1 ORDER BY e.id LIMIT 1) AS runningAt,
  EXISTS (SELECT 1 FROM audit a WHERE a.incident_id = i.id AND a.phase IN ('approved', 'rejected') AND ${PEOPLE}) AS human,
  EXISTS (SELECT 1 FROM audit a WHERE a.incident_id = i.id AND ${WRITES}) AS acted
  FROM incidents i WHERE i.opened_at >= @since ORDER BY i.opened_at DESC LIMIT @limit`;
const EARLIER = `SELECT id, fingerprint, opened_at AS openedAt, target, service, host, title FROM incidents
  WHERE opened_at >= @from AND opened_at < @to ORDER BY opened_at DESC LIMIT @limit`;
const SPEND = `SELECT model, count(*) AS calls, COALESCE(SUM(cost_usd), 0) AS costUsd, COALESCE(SUM(input_tokens), 0) AS inputTokens,
  COALESCE(SUM(output_tokens), 0) AS outputTokens FROM model_calls WHERE time >= @since GROUP BY model ORDER BY costUsd DESC, model`;

const causeRow = (r: Pick<Row, 'id' | 'fingerprint' | 'openedAt' | 'target' | 'service' | 'host' | 'title'>): CauseRow => ({
  id: r.id,
  fingerprint: r.fingerprint,
  openedAt: r.openedAt,
  place: r.target ?? r.service ?? r.host,
  service: r.service ?? r.target ?? r.host ?? '(unknown)',
  cause: normaliseCause(r.title),
});

/** opened - the first alert's own start; undefined when there is no usable start (see docs/report.md). */
function detectionMs(r: Row): number | undefined {
  // Only an ISO time with a zone is a start: Date.parse alone reads "0" as 2000-01-01. Parsers now
  // replace a junk start with the intake time, but rows stored before that keep theirs.
  if (r.firstAlertStatus !== 'firing' || typeof r.startsAt !== 'string' || !isAlertStart(r.startsAt)) return undefined;
  const start = Date.parse(r.startsAt);
  const opened = Date.parse(r.openedAt);
  if (Number.isNaN(start) || Number.isNaN(opened) || start < EARLIEST_START) return undefined;
  // A sender whose clock runs ahead puts the start after the opening: detection was immediate.
  return Math.max(0, opened - start);
}

function span(from: string, to: string | null): number | undefined {
  if (to === null) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isNaN(ms) ? undefined : Math.max(0, ms);
}

function modelSpend(db: Db, since: string): ModelSpend {
  const rows = db.prepare(SPEND).all({ since }) as Array<{ model: string; calls: number; costUsd: number; inputTokens: number; outputTokens: number }>;
  const sum = (f: (r: (typeof rows)[number]) => number): number => rows.reduce((s, r) => s + f(r), 0);
  const usd = (v: number): number => Math.round(v * 1e6) / 1e6;
  return {
    calls: sum((r) => r.calls),
    costUsd: usd(sum((r) => r.costUsd)),
    inputTokens: sum((r) => r.inputTokens),
    outputTokens: sum((r) => r.outputTokens),
    byModel: rows.slice(0, SPEND_MODELS).map((r) => ({ model: r.model, calls: r.calls, costUsd: usd(r.costUsd) })),
  };
}

export interface ReportOptions {
  /** A stored ISO time: incidents opened at or after it. */
  since: string;
  now?: Date;
  maxIncidents?: number;
}

export function incidentReport(db: Db, opts: ReportOptions): IncidentReport {
  const limit = opts.maxIncidents ?? REPORT_MAX_INCIDENTS;
  const until = (opts.now ?? new Date()).toISOString();
  const read = db.prepare(ROWS).all({ since: opts.since, limit: limit + 1 }) as Row[];
  const capped = read.length > limit;
  const rows = capped ? read.slice(0, limit) : read;
  const coveredFrom = capped ? rows.at(-1)!.openedAt : opts.since;
  const lookbackFrom = new Date(Date.parse(coveredFrom) - RECURRENCE_WINDOW_MS).toISOString();
  const earlier = db.prepare(EARLIER).all({ from: lookbackFrom, to: coveredFrom, limit }) as Row[];

  // Closed is resolved or escalated; any other status, even one this version does not know, is open.
  const closed = rows.filter((r) => TERMINAL_STATUSES.includes(r.status));
  const resolved = closed.filter((r) => r.status === 'resolved');
  const defined = (v: number | undefined): v is number => v !== undefined;
  const inWindow = rows.map(causeRow);
  const recurring = recurringIds(inWindow, earlier.map(causeRow));
  return {
    since: opts.since,
    until,
    incidents: { opened: rows.length, open: rows.length - closed.length, closed: closed.length, resolved: resolved.length, escalated: closed.length - resolved.length },
    mttd: durationFigure(rows.map(detectionMs).filter(defined)),
    mttrRunning: durationFigure(closed.map((r) => span(r.openedAt, r.runningAt)).filter(defined)),
    mttrResolved: durationFigure(resolved.map((r) => span(r.openedAt, r.closedAt)).filter(defined)),
    autoFix: rateFigure(resolved.filter((r) => !r.human).length, closed.length),
    escalation: rateFigure(closed.length - resolved.length, closed.length),
    falsePositive: rateFigure(resolved.filter((r) => !r.acted).length, closed.length),
    recurrence: { ...rateFigure(recurring.size, rows.length), windowDays: RECURRENCE_WINDOW_MS / 86_400_000 },
    patterns: recurringPatterns(inWindow),
    modelSpend: modelSpend(db, opts.since),
    capped,
    coveredFrom,
  };
}
