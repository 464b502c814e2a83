// Durations as people type them on the command line: the grammar of `tokens create --expires`
// (90m, 12h, 30d, 2w), with parts added up (1h30m). Pure; the caller names its flag in errors.

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const WHOLE = /^(?:\d{1,6}[mhdw])+$/;
const PART = /(\d{1,6})([mhdw])/g;

/** Milliseconds, or undefined when `text` is not a duration (a sign, a fraction, an unknown unit). */
export function parseDurationMs(text: string): number | undefined {
  const t = text.trim();
  if (!WHOLE.test(t)) return undefined;
  let ms = 0;
  for (const [, n, unit] of t.matchAll(PART)) ms += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return ms;
}
