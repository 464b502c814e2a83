// Structured logging to stderr only: stdout belongs to the stdio MCP protocol.
import { createHash } from 'node:crypto';
import { format } from 'node:util';
import { pino, type Logger } from 'pino';
import type { LogLevel } from './log-levels.js';

export type { Logger };
export { LOG_LEVELS, type LogLevel } from './log-levels.js';

export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: { name: 'warden' } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that writes nothing, for library use and tests that do not read logs. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** The Anthropic SDK's console.warn on every request with a deprecated model (loop/models.ts warns once at start instead). */
const SDK_MODEL_DEPRECATION = /^The model '[^']*' is deprecated and will reach end-of-life/;

let libraryLog: Logger | undefined;

/**
 * A library that warns in a loop must not flood the log: a line repeated within a minute goes to
 * debug, and the next one after that minute says how many were held back. Errors always reach the
 * log at error level. Lines are told apart by digest (a library may print megabytes), and at most
 * MAX_TRACKED of them are remembered.
 */
const REPEAT_WINDOW_MS = 60_000;
const MAX_TRACKED = 1_000;
const seen = new Map<string, { at: number; held: number }>();

/** Undefined when `line` was logged less than a minute ago (log this one at debug), else how many repeats were held back since. */
function heldBefore(line: string, now = Date.now()): number | undefined {
  const key = createHash('sha256').update(line).digest('base64');
  const last = seen.get(key);
  if (last && now - last.at < REPEAT_WINDOW_MS) {
    last.held += 1;
    return undefined;
  }
  if (!last && seen.size >= MAX_TRACKED) seen.clear();
  seen.set(key, { at: now, held: 0 });
  return last?.held ?? 0;
}

/** Logs a library line at `level`, or at debug when it repeats one logged less than a minute ago. */
function libraryLine(level: 'info' | 'warn', fields: object, msg: string): void {
  const held = heldBefore(`${level} ${JSON.stringify(fields)} ${msg}`);
  if (held === undefined) libraryLog!.debug({ ...fields, repeated: true }, msg);
  else libraryLog![level](held > 0 ? { ...fields, heldBack: held } : fields, msg);
}

/**
 * For the long-running commands (serve, stdio): what libraries print with console.* and Node's
 * process warnings go to `log` as JSON on stderr. console.log would otherwise write to stdout, which
 * is the stdio MCP stream, and a plain line breaks the JSON log stream. Once per process; a later
 * call only changes the logger. warden's own code never uses console.
 */
export function routeLibraryOutput(log: Logger): void {
  const first = libraryLog === undefined;
  libraryLog = log.child({ from: 'library' });
  if (!first) return;
  const to = (level: 'debug' | 'info' | 'warn' | 'error') => (...args: unknown[]): void => {
    const msg = format(...args);
    if (level === 'warn' && SDK_MODEL_DEPRECATION.test(msg)) libraryLog!.debug(msg);
    else if (level === 'info' || level === 'warn') libraryLine(level, {}, msg);
    else libraryLog![level](msg);
  };
  console.log = to('info');
  console.info = to('info');
  console.dir = to('info');
  console.debug = to('debug');
  console.trace = to('debug');
  console.warn = to('warn');
  console.error = to('error');
  // Node prints warnings through a listener of its own: replaced, so they arrive as JSON too.
  for (const l of process.listeners('warning')) process.removeListener('warning', l);
  process.on('warning', (w: Error & { code?: string }) => libraryLine('warn', { warning: w.name, code: w.code }, w.message));
}
