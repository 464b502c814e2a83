// What `warden status` and `warden doctor` print: one line per check (ok, warn or FAIL, its name,
// a short detail), the same JSON shape for machines, and exit 1 naming every FAIL. A warning is
// shown and never fails the command.
import { CommandError } from '../errors.js';
import { named, type HealthCheck, type Level } from '../shared/health-checks.js';
import { printJson, printLines, table } from './output.js';

// The checks themselves are shared vocabulary: the console's Health page shows the same ones.
export { ago, fail, named, ok, origin, warn, type HealthCheck, type Level } from '../shared/health-checks.js';

const LABELS: Record<Level, string> = { ok: 'ok', warn: 'warn', fail: 'FAIL' };

export function renderChecks(checks: readonly HealthCheck[]): string[] {
  return table(checks.map((c) => [LABELS[c.level], c.name, c.detail]), ['RESULT', 'CHECK', 'DETAIL']);
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
