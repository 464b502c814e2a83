// Rendering a runbook's command: each {param} token filled, inside its argv item, with a value that
// matches the param's pattern whole and passes the checks every value passes. Pure; it never builds
// a shell string, and nothing here runs anything.
import picomatch from 'picomatch';
import { ToolFailure } from '../errors.js';
import { redactText } from '../shared/redact.js';
import type { RunbookRecord } from '../store/readers.js';

export type RunbookTemplate = Pick<RunbookRecord, 'name' | 'hosts' | 'argv' | 'params'>;

/** The token syntax of placeholdersIn (store/inventory-schema.ts), global for one-pass replacement. */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

// Shell syntax and quotes. argv is quoted on its way over SSH and never meets a shell locally, so
// these are defense in depth: a wrapper script or a program that re-parses its arguments must
// still never see them.
const SHELL_META = /[;|&$`<>()\\'"]/u;
// C0/C1 controls (NUL, newline, escape, DEL), invisible format characters (bidi overrides) and
// the Unicode line and paragraph separators: nothing a log line or a reviewer would show plainly.
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Why a value is refused whatever its param's pattern allows; undefined when it passes. */
export function valueProblem(value: string): string | undefined {
  if (value === '') return 'it is empty';
  if (value.startsWith('-')) return 'it starts with "-", so the program could read it as an option';
  if (CONTROL.test(value)) return 'it contains a control character (newline, NUL, escape, ...)';
  const meta = SHELL_META.exec(value);
  if (meta) return `it contains ${JSON.stringify(meta[0])}`;
  if (value.split('/').includes('..')) return 'it has a ".." path segment';
  return undefined;
}

/** Whether `value` matches `pattern` whole: anchored, Unicode-aware, as the inventory schema compiles it. */
export function matchesWhole(pattern: string, value: string): boolean {
  return new RegExp(`^(?:${pattern})$`, 'u').test(value);
}

/** Whether the runbook may run on `host`: one of its `hosts` globs matches the name. */
export function runbookAllowsHost(runbook: Pick<RunbookRecord, 'hosts'>, host: string): boolean {
  return picomatch(runbook.hosts, { dot: true })(host);
}

const names = (xs: readonly string[]): string => xs.map((x) => `"${x}"`).join(', ');

/** The value as it may appear in a message: escaped, so a newline or escape cannot reshape the text. */
const shown = (value: string): string => {
  const s = JSON.stringify(redactText(value));
  return s.length > 82 ? `${s.slice(0, 80)}…"` : s;
};

/**
 * The argv with every {param} replaced by its value. Throws invalid_input, naming the param and the
 * rule, for an unknown or missing param or a refused value. Replacement is one pass, so a value that
 * itself contains "{other}" stays literal text.
 */
export function renderRunbookArgv(runbook: RunbookTemplate, params: Readonly<Record<string, string>>): string[] {
  const declared = Object.keys(runbook.params);
  const given = Object.keys(params);
  const expected = declared.length ? `its params: ${declared.map((p) => `${p} (${runbook.params[p]!.description})`).join('; ')}` : 'it takes no params';
  const unknown = given.filter((p) => !Object.hasOwn(runbook.params, p));
  if (unknown.length) throw invalid(`runbook "${runbook.name}" has no param ${names(unknown)}; ${expected}`);
  const missing = declared.filter((p) => !Object.hasOwn(params, p));
  if (missing.length) throw invalid(`runbook "${runbook.name}" needs param ${names(missing)}; ${expected}`);
  for (const p of declared) {
    const value = params[p]!;
    const { pattern, description } = runbook.params[p]!;
    const why = valueProblem(value) ?? (matchesWhole(pattern, value) ? undefined : `it does not match the pattern ${JSON.stringify(pattern)}`);
    if (why) throw invalid(`param "${p}" of runbook "${runbook.name}" is refused: ${shown(value)}: ${why}; expected ${description}. Nothing was run`);
  }
  return runbook.argv.map((arg) => arg.replace(PLACEHOLDER, (_token, p: string) => params[p]!));
}

/**
 * Bounds a program on an SSH host, where closing the channel does not stop it. The coreutils and
 * BusyBox (1.30 and later) forms agree: `timeout -s KILL SECS PROG ARGS...`, exit 137 on expiry.
 */
export function remoteTimeoutArgv(argv: readonly string[], seconds: number): string[] {
  return ['timeout', '-s', 'KILL', String(seconds), ...argv];
}

function invalid(message: string): ToolFailure {
  return new ToolFailure('invalid_input', message);
}
