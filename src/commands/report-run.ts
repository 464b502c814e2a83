// The action of `warden report`, loaded when it runs: --since is checked before the database is
// opened (bad input exits 2 naming the flag), then the figures are read and printed.
import type { ConfigLoader } from '../config.js';
import { InputError } from '../errors.js';
import { parseTimeFilter } from '../server/console/incident-filters.js';
import { openDb } from '../store/db.js';
import { incidentReport, type IncidentReport } from '../store/incident-report.js';
import { formatRate, formatSeconds, type DurationFigure, type RateFigure } from '../store/report-figures.js';
import { printJson, printLines, table } from './output.js';

/** `2026-11-23T10:00:00.000Z` -> `2026-11-23 10:00:00` */
const shortTime = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');

/** As the console's Report page: no duration or time is longer. */
const MAX_SINCE_CHARS = 200;

/** The stored time --since names: a duration back from `now` or an ISO time with a zone, not in the future. */
export function sinceOf(text: string, now: Date): string {
  // Refused, not cut: a cut value would be read as whatever its first characters spell.
  if (text.length > MAX_SINCE_CHARS) throw new InputError(`--since: over ${MAX_SINCE_CHARS} characters (a duration such as 30d, or an ISO time with a zone)`);
  const since = parseTimeFilter(text, now);
  if (since === undefined) throw new InputError(`--since "${text.slice(0, 60)}": expected a duration back from now (30d, 12h, 2w) or an ISO time with a zone (2026-11-01T00:00Z)`);
  if (since > now.toISOString()) throw new InputError(`--since "${text.slice(0, 60)}": that is in the future`);
  return since;
}

const durationRow = (name: string, f: DurationFigure): string[] =>
  [name, formatSeconds(f.meanSeconds), formatSeconds(f.medianSeconds), formatSeconds(f.p90Seconds), String(f.count)];
const rateRow = (name: string, f: RateFigure): string[] => [name, formatRate(f.rate), `${f.count} of ${f.of}`];

export function reportLines(r: IncidentReport, sinceText: string): string[] {
  const n = r.incidents;
  const lines = [
    `Incidents opened since ${shortTime(r.since)} (${sinceText}): ${n.opened} (open ${n.open}, resolved ${n.resolved}, escalated ${n.escalated})`,
    ...(r.capped ? [`Only the newest ${n.opened} were read: the figures cover those opened since ${shortTime(r.coveredFrom)}.`] : []),
    '',
    ...table([
      durationRow('MTTD', r.mttd),
      durationRow('MTTR to running', r.mttrRunning),
      durationRow('MTTR to resolved', r.mttrResolved),
    ], ['DURATION', 'MEAN', 'MEDIAN', 'P90', 'INCIDENTS']),
    '',
    ...table([
      rateRow('auto-fix', r.autoFix),
      rateRow('escalation', r.escalation),
      rateRow('false positive', r.falsePositive),
      rateRow(`recurrence (${r.recurrence.windowDays}d)`, r.recurrence),
    ], ['RATE', 'VALUE', 'INCIDENTS']),
    '',
    `Model spend: $${r.modelSpend.costUsd.toFixed(4)} in ${r.modelSpend.calls} calls (${r.modelSpend.inputTokens} input, ${r.modelSpend.outputTokens} output tokens)`,
    ...table(r.modelSpend.byModel.map((m) => [m.model, String(m.calls), `$${m.costUsd.toFixed(4)}`]), ['MODEL', 'CALLS', 'COST']),
    '',
  ];
  if (r.patterns.length === 0) return [...lines, 'No recurring causes (none seen twice on one service).'];
  return [...lines, 'Top recurring causes:', ...table(r.patterns.map((p) => [p.service, String(p.count), shortTime(p.lastSeen), p.example, p.cause]),
    ['SERVICE', 'COUNT', 'LAST SEEN', 'NEWEST', 'CAUSE'])];
}

export function printReport(loadConfig: ConfigLoader, opts: { since: string; json?: boolean }): void {
  const now = new Date();
  const since = sinceOf(opts.since, now);
  const db = openDb(loadConfig().dataDir);
  let report: IncidentReport;
  try {
    report = incidentReport(db, { since, now });
  } finally {
    db.close();
  }
  if (opts.json) return printJson(report);
  printLines(reportLines(report, opts.since));
}
