// What `warden status` and `warden doctor` print: one line per check (ok, warn or FAIL, its name,
// a short detail), the same JSON shape for machines, and exit 1 naming every FAIL. A warning is
// shown and never fails the command.
import { CommandError } from '../errors.js';
import { formatDurationMs } from '../shared/durations.js';
import { printJson, printLines, table } from './output.js';

export type Level = 'ok' | 'warn' | 'fail';

export interface HealthCheck {
  name: string;
  level: Level;
  detail: string;
}

export const ok = (name: string, detail: string): HealthCheck => ({ name, level: 'ok', detail });
export const warn = (name: string, detail: string): HealthCheck => ({ name, level: 'warn', detail });
export const fail = (name: string, detail: string): HealthCheck => ({ name, level: 'fail', detail });

const LABELS: Record<Level, string> = { ok: 'ok', warn: 'warn', fail: 'FAIL' };

export function renderChecks(checks: readonly HealthCheck[]): string[] {
  return table(checks.map((c) => [LABELS[c.level], c.name, c.detail]), ['RESULT', 'CHECK', 'DETAIL']);
}

/** `name: detail` of each check at `level`, in order. */
export function named(checks: readonly HealthCheck[], level: Level): string[] {
  return checks.filter((c) => c.level === level).map((c) => `${c.name}: ${c.detail}`);
}

/** "3m ago", for a time a daemon recorded: seconds under a minute, minutes under a day, hours beyond. */
export function ago(iso: string | null | undefined, now: Date): string {
  if (!iso) return 'never';
  const ms = now.getTime() - Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  if (ms < 0) return `at ${iso}`;
  const unit = ms < 60_000 ? 1_000 : ms < 86_400_000 ? 60_000 : 3_600_000;
  return ms < 1_000 ? 'just now' : `${formatDurationMs(Math.floor(ms / unit) * unit)} ago`;
}

/** A URL as a report may show it: scheme, host and port only, since webhook paths carry secrets. */
export function origin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * Prints the report (`extra` joins the JSON) and throws a CommandError naming each FAIL, so the
 * command exits 1; the lines on stdout stay whole either way.
 */
export function finishReport(command: string, header: string, checks: readonly HealthCheck[], opts: { json?: boolean; extra?: object }): void {
  const problems = named(checks, 'fail');
  const warnings = named(checks, 'warn');
  if (opts.json) {
    printJson({ ok: problems.length === 0, problems, warnings, checks, ...opts.extra });
  } else {
    const tally = problems.length ? `${problems.length} problem${problems.length > 1 ? 's' : ''}` : 'no problems';
    printLines([header, ...renderChecks(checks), `${tally}${warnings.length ? `, ${warnings.length} warning${warnings.length > 1 ? 's' : ''}` : ''}`]);
  }
  if (problems.length) throw new CommandError(`${command}: ${problems.join('; ')}`);
}
