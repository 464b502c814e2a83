// Printing for commands: JSON for machines (--json), short aligned lines for people. stdout only
// carries command output; logs go to stderr.
import { userInfo } from 'node:os';
import { InvalidArgumentError, Option } from 'commander';

/** Who runs the command, for the audit: the user name, or `cli` where there is none. */
export function whoami(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}

/**
 * `--by NAME`, defaulting to the user running the command. The help says "(default: your user
 * name)" once: commander would otherwise print the description's words and the value both.
 */
export function byOption(description: string): Option {
  return new Option('--by <name>', description).default(whoami(), 'your user name');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(lines: string[]): void {
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * One line per cell: a multi-line value (a reason, a log line, a runbook description) would split
 * its row and shift every column after it, so line breaks and other control characters are shown
 * as escapes instead.
 */
export function cell(value: string): string {
  return value.replace(/\r?\n/g, '\\n').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Aligns columns under an optional header; the last column is free text and is not padded. */
export function table(rows: string[][], header?: string[]): string[] {
  const all = (header ? [header, ...rows] : rows).map((r) => r.map(cell));
  if (rows.length === 0) return [];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** A list for people: a header, one row per item, and a sentence (not silence) when there is none. */
export function printTable(header: string[], rows: string[][], empty: string): void {
  printLines(rows.length ? table(rows, header) : [empty]);
}

export function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}
