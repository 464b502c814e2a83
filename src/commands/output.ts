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
 * as escapes instead. That covers the C1 controls too (U+009B is a one-character CSI to terminals
 * that decode UTF-8 C1), and the bidi and line-separator marks that reorder or split what is shown.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function cell(value: string): string {
  return value.replace(/\r?\n/g, '\\n').replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Aligns columns under an optional header; the last column is free text and is not padded. */
export function table(rows: string[][], header?: string[]): string[] {
  const all = (header ? [header, ...rows] : rows).map((r) => r.map(cell));
  if (rows.length === 0) return [];
  // A loop, not Math.max(...rows): spreading a hundred thousand rows overflows the call stack.
  const widths = all[0]!.map((_, i) => all.reduce((w, r) => Math.max(w, (r[i] ?? '').length), 0));
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
