// What a row of Docker's container list says in its Status text ("Up 2 hours (healthy)",
// "Exited (1) 3 minutes ago"): exit code, health, and how long ago the run began or ended, as
// the range of ages the text can stand for. Pure parsing; it never guesses: text it does not
// know gives null or undefined, so callers can refuse to trust it.

export function parseExitCode(status: string): number | null {
  const m = /^Exited \((-?\d+)\)/.exec(status);
  return m ? Number(m[1]) : null;
}

export function parseHealth(status: string): string | null {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  if (!m) return null;
  return m[1] === 'health: starting' ? 'starting' : m[1]!;
}

/** The ages a duration text can stand for: at least atLeastMs, less than underMs. */
export interface AgeRange {
  atLeastMs: number;
  underMs: number;
}

/**
 * What a Status text dates: the start of the running (or paused) run, the end of the last run
 * (exited, restarting), or nothing ("Created", "Dead", "Removal In Progress").
 */
export type StatusAge = ({ since: 'start' | 'finish' } & AgeRange) | { since: 'none' };

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Docker's status texts are short; anything longer is not one, and is not run through the patterns. */
const MAX_STATUS_CHARS = 120;

const UNIT_MS: Record<string, number> = {
  second: SECOND, minute: MINUTE, hour: HOUR, day: 24 * HOUR, week: 7 * 24 * HOUR, month: 30 * 24 * HOUR, year: 365 * 24 * HOUR,
};

/**
 * Inverts go-units' HumanDuration, which Docker's Status uses. Seconds and minutes are truncated
 * ("59 seconds" is [59 s, 60 s)). Hours are rounded since go-units 0.5 ("2 hours" is [1.5 h, 2.5 h))
 * and truncated before it ([2 h, 3 h)), and days, weeks and months are whole divisions of those
 * hours: so from hours up the range spans both, half an hour below the figure to one unit above.
 * Years truncate. "1 seconds" and "1 minutes" (older spellings) read the same as the singular.
 */
export function humanDurationRange(text: string): AgeRange | undefined {
  if (text === 'Less than a second') return { atLeastMs: 0, underMs: SECOND };
  if (text === 'About a minute') return { atLeastMs: MINUTE, underMs: 2 * MINUTE };
  if (text === 'About an hour') return { atLeastMs: HOUR, underMs: 2 * HOUR };
  const m = /^(\d{1,9}) (second|minute|hour|day|week|month|year)s?$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = UNIT_MS[m[2]!]!;
  const below = unit >= HOUR && unit < UNIT_MS.year! ? HOUR / 2 : 0;
  return { atLeastMs: Math.max(0, n * unit - below), underMs: (n + 1) * unit };
}

/** How long ago the row's run began or ended; undefined for a text Docker does not write. */
export function statusAge(status: string): StatusAge | undefined {
  if (status.length > MAX_STATUS_CHARS) return undefined;
  if (status === 'Created' || status === 'Dead' || status === 'Removal In Progress') return { since: 'none' };
  // "Up 2 hours", "Up 2 hours (healthy)", "Up 3 seconds (Paused)": the time since StartedAt.
  const up = /^Up ([A-Za-z0-9 ]+?)(?: \([a-zA-Z: ]+\))?$/.exec(status);
  if (up) {
    const range = humanDurationRange(up[1]!);
    return range && { since: 'start', ...range };
  }
  // "Exited (1) 3 minutes ago", "Restarting (1) 2 seconds ago": the time since FinishedAt.
  const ended = /^(?:Exited|Restarting) \(-?\d{1,10}\) ([A-Za-z0-9 ]+) ago$/.exec(status);
  if (ended) {
    const range = humanDurationRange(ended[1]!);
    return range && { since: 'finish', ...range };
  }
  return undefined;
}
