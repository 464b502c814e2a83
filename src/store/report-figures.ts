// The pure arithmetic of `warden report` (docs/report.md): duration figures (mean, median, p90),
// rates with their counts, the normalised cause of an incident's title, recurrence and the top
// recurring patterns. No I/O: incident-report.ts reads the rows and hands them here.

/** A duration figure over `count` incidents; every value null when there is none. */
export interface DurationFigure {
  count: number;
  meanSeconds: number | null;
  medianSeconds: number | null;
  p90Seconds: number | null;
}

/** `count` of `of`; `rate` null when `of` is 0 (nothing to divide). */
export interface RateFigure {
  count: number;
  of: number;
  rate: number | null;
}

/** One normalised cause seen at least twice on one service in the window. */
export interface RecurringPattern {
  service: string;
  cause: string;
  count: number;
  lastSeen: string;
  /** The newest incident with this cause. */
  example: string;
}

/** Seconds to the millisecond: the stored times carry no more. */
const seconds = (ms: number): number => Math.round(ms) / 1000;

/**
 * The p-quantile of sorted values by linear interpolation between the closest ranks (R-7, what
 * numpy and spreadsheets use by default): the median of [10, 20] is 15.
 */
export function quantile(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export function durationFigure(valuesMs: readonly number[]): DurationFigure {
  if (valuesMs.length === 0) return { count: 0, meanSeconds: null, medianSeconds: null, p90Seconds: null };
  const sorted = [...valuesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    count: sorted.length,
    meanSeconds: seconds(sum / sorted.length),
    medianSeconds: seconds(quantile(sorted, 0.5)),
    p90Seconds: seconds(quantile(sorted, 0.9)),
  };
}

/** Rounded to 4 places (0.5556): a rate is read as a percentage with two decimals at most. */
export function rateFigure(count: number, of: number): RateFigure {
  return { count, of, rate: of === 0 ? null : Math.round((count / of) * 10_000) / 10_000 };
}

const CAUSE_CHARS = 120;
/** Titles are stored capped at 200 characters; more is never looked at, whatever a row holds. */
const TITLE_READ_CHARS = 500;
const TIMESTAMP = /\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b/g;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;
/** A run of 7+ hex characters: container ids (12 or 64), digests, hashes, 0x addresses, but also plain numbers. */
const HEX_RUN = /\b(?:0x)?[0-9a-f]{7,}\b/g;
/** Hash lengths (MD5, SHA-1, SHA-256): an id even when every character happens to be a digit or a letter. */
const HASH_LENGTHS = new Set([32, 40, 64]);
/**
 * An id is a hex run with both a letter and a digit, a 0x one, or one of a hash's length. Only
 * letters is a word ("deadbeef"); only digits is a number, left to NUMBER (1000000 ms is the same
 * cause as 999999 ms).
 */
const hexId = (run: string): string =>
  run.startsWith('0x') || HASH_LENGTHS.has(run.length) || (/\d/.test(run) && /[a-f]/.test(run)) ? '<id>' : run;
/** Quoted values; a single quote only where it opens after a non-word character, so "can't" and "web-1's" stay. */
const QUOTED = /"[^"]*"|`[^`]*`|(?<!\w)'[^']*'(?!\w)/g;
/** A number; one of 1-3 digits right after code, status, signal or exit is kept: exit 137 and exit 1 are different causes. */
const NUMBER = /(\b(?:code|status|signal|exit)[ :=]+)?\d+(?:[.,]\d+)*/g;

/**
 * What an incident is about, without what changes from one occurrence to the next: lower case;
 * timestamps -> <time>, UUIDs and hex ids (letters and digits) -> <id>, quoted values -> <value>, numbers -> # (but an
 * exit code or status of 1-3 digits stays), whitespace collapsed, at most 120 characters.
 */
export function normaliseCause(title: string): string {
  const text = title.slice(0, TITLE_READ_CHARS).toLowerCase()
    .replace(TIMESTAMP, '<time>')
    .replace(UUID, '<id>')
    .replace(HEX_RUN, hexId)
    .replace(QUOTED, '<value>')
    .replace(NUMBER, (m, label: string | undefined) => {
      if (!label) return '#';
      const n = m.slice(label.length);
      return /^\d{1,3}$/.test(n) ? m : `${label}#`;
    })
    .replace(/\s+/g, ' ')
    .trim();
  return text.slice(0, CAUSE_CHARS) || '(no title)';
}

/** What recurrence and the patterns need of an incident. */
export interface CauseRow {
  id: string;
  fingerprint: string;
  openedAt: string;
  /** Where: the canonical target, else the service, else the host; null when the alert named nothing known. */
  place: string | null;
  /** For the patterns: the service, else the target or host. */
  service: string;
  cause: string;
}

export const RECURRENCE_WINDOW_MS = 7 * 86_400_000;

/**
 * The ids of `inWindow` incidents that recur: an incident with the same fingerprint, or on the same
 * place with the same normalised cause, opened strictly earlier and at most `windowMs` before it.
 * `earlier` holds incidents opened before the report's window (within `windowMs` of it), looked at
 * only as earlier occurrences. Incidents opened at the same millisecond are not each other's earlier.
 */
export function recurringIds(inWindow: readonly CauseRow[], earlier: readonly CauseRow[], windowMs = RECURRENCE_WINDOW_MS): Set<string> {
  const all = [...earlier.map((r) => ({ r, counts: false })), ...inWindow.map((r) => ({ r, counts: true }))]
    .map((x) => ({ ...x, at: Date.parse(x.r.openedAt) }))
    .filter((x) => !Number.isNaN(x.at))
    .sort((a, b) => a.at - b.at);
  const lastSeen = new Map<string, number>();
  const keysOf = (r: CauseRow): string[] => [`f\u0000${r.fingerprint}`, ...(r.place ? [`c\u0000${r.place}\u0000${r.cause}`] : [])];
  const found = new Set<string>();
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j]!.at === all[i]!.at) j += 1;
    const group = all.slice(i, j);
    for (const x of group) {
      if (!x.counts) continue;
      if (keysOf(x.r).some((k) => x.at - (lastSeen.get(k) ?? -Infinity) <= windowMs)) found.add(x.r.id);
    }
    for (const x of group) for (const k of keysOf(x.r)) lastSeen.set(k, x.at);
    i = j;
  }
  return found;
}

export const PATTERNS_PER_SERVICE = 5;
export const PATTERN_SERVICES = 20;

/**
 * Per service, its causes seen at least twice in the window, most frequent first (then the most
 * recent), at most 5 a service and 20 services (those with the most frequent cause first).
 */
export function recurringPatterns(rows: readonly CauseRow[]): RecurringPattern[] {
  const groups = new Map<string, RecurringPattern>();
  for (const r of rows) {
    const key = `${r.service}\u0000${r.cause}`;
    const g = groups.get(key);
    if (!g) groups.set(key, { service: r.service, cause: r.cause, count: 1, lastSeen: r.openedAt, example: r.id });
    else {
      g.count += 1;
      if (r.openedAt > g.lastSeen) Object.assign(g, { lastSeen: r.openedAt, example: r.id });
    }
  }
  const byService = new Map<string, RecurringPattern[]>();
  for (const g of groups.values()) {
    if (g.count < 2) continue;
    byService.set(g.service, [...(byService.get(g.service) ?? []), g]);
  }
  const order = (a: RecurringPattern, b: RecurringPattern): number =>
    b.count - a.count || (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0) || a.cause.localeCompare(b.cause);
  return [...byService.values()]
    .map((list) => list.sort(order).slice(0, PATTERNS_PER_SERVICE))
    .sort((a, b) => order(a[0]!, b[0]!) || a[0]!.service.localeCompare(b[0]!.service))
    .slice(0, PATTERN_SERVICES)
    .flat();
}

/** How a duration reads on the table and the console: `-` for none, 37.5s under a minute, else 2m6s. */
export function formatSeconds(value: number | null): string {
  if (value === null) return '-';
  if (value < 60) return `${Number(value.toFixed(1))}s`;
  let rest = Math.round(value);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}

/** A rate as a percentage with one decimal, `-` when there was nothing to count. */
export function formatRate(rate: number | null): string {
  return rate === null ? '-' : `${(rate * 100).toFixed(1)}%`;
}
