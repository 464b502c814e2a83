// Durations as people type them: the grammar of `tokens create --expires` (90m, 12h, 30d, 2w), with
// parts added up (1h30m); the inventory's monitors also take seconds (10s, 1m30s). Pure; the
// caller names its field in errors.

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
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
