// Durations as people type them: the grammar of `tokens create --expires` (90m, 12h, 30d, 2w), with
// parts added up (1h30m); the inventory's monitors also take seconds (10s, 1m30s). Pure; the
// caller names its field in errors.

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * The longest lifetime a person may give anything warden turns into a stored time (a token's
 * --expires, a rotation's --overlap): 10 years (3,653 days). Longer ones are typos, and past year
 * 9999 a time is written "+010000-..." and sorts before "2026-...", so it would read as long past.
 */
export const MAX_LIFETIME_MS = 3_653 * UNIT_MS.d;
export const MAX_LIFETIME_TEXT = '10 years (3653d)';
const WHOLE = /^(?:\d{1,6}[mhdw])+$/;
const WHOLE_WITH_SECONDS = /^(?:\d{1,6}[smhdw])+$/;
const PART = /(\d{1,6})([smhdw])/g;

/**
 * Milliseconds, or undefined when `text` is not a duration (a sign, a fraction, an unknown unit).
 * Seconds (`s`) only with `seconds: true`: a token that expires in 30 s is a typo for 30 m.
 */
export function parseDurationMs(text: string, opts: { seconds?: boolean } = {}): number | undefined {
  const t = text.trim();
  if (!(opts.seconds ? WHOLE_WITH_SECONDS : WHOLE).test(t)) return undefined;
  let ms = 0;
  for (const [, n, unit] of t.matchAll(PART)) ms += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return ms;
}

/** A duration for people to read back: the largest whole units, e.g. 90_000 -> "1m30s". */
export function formatDurationMs(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('') || '0s';
}

const FOUR_DIGIT_YEAR = /^\d{4}-/;

/**
 * `at` as stored: an ISO time whose text order is time order (years 0000-9999), which every SQL and
 * string comparison of stored times relies on. Throws RangeError for anything else (an invalid date,
 * "+010000-..." or "-000001-..."), so a bad time is refused rather than stored to mean something else.
 */
export function sortableIso(at: Date): string {
  const iso = Number.isNaN(at.getTime()) ? '' : at.toISOString();
  if (!FOUR_DIGIT_YEAR.test(iso)) throw new RangeError(`time outside the years 0000-9999: ${Number.isNaN(at.getTime()) ? 'invalid date' : iso}`);
  return iso;
}
