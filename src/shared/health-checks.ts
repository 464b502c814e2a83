// A health check as warden reports it (`warden status`, `warden doctor`, the console's Health page):
// a level, a name and a short detail for people. Vocabulary only: judging lives with the readers.
import { formatDurationMs } from './durations.js';

export type Level = 'ok' | 'warn' | 'fail';

export interface HealthCheck {
  name: string;
  level: Level;
  detail: string;
}

export const ok = (name: string, detail: string): HealthCheck => ({ name, level: 'ok', detail });
export const warn = (name: string, detail: string): HealthCheck => ({ name, level: 'warn', detail });
export const fail = (name: string, detail: string): HealthCheck => ({ name, level: 'fail', detail });

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
