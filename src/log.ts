// Structured logging to stderr only: stdout belongs to the stdio MCP protocol.
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
  process.on('warning', (w: Error & { code?: string }) => libraryLog!.warn({ warning: w.name, code: w.code }, w.message));
}
