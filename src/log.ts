// Structured logging to stderr only: stdout belongs to the stdio MCP protocol.
import { pino, type Logger } from 'pino';
import type { LogLevel } from './log-levels.js';

export type { Logger };
export { LOG_LEVELS, type LogLevel } from './log-levels.js';

export function createLogger(level: LogLevel = 'info'): Logger {
  return pino({ level, base: { name: 'warden' } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that writes nothing, for library use and tests that do not read logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
