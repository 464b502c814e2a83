// Printing for commands: JSON for machines (--json), short aligned lines for people. stdout only
// carries command output; logs go to stderr.
import { userInfo } from 'node:os';
import { InvalidArgumentError } from 'commander';

/** Who runs the command, for the audit: the user name, or `cli` where there is none. */
export function whoami(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(lines: string[]): void {
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}

/** Aligns columns; the last column is free text and is not padded. */
export function table(rows: string[][]): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

export function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}
