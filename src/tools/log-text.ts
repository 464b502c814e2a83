// Pure helpers for container_logs and nginx_error_log: the since argument, the grep filter, line
// cleaning and the output cap. Log text is attacker-controlled: it leaves a tool only as JSON string
// values beside a note calling it untrusted data, never spliced into warden's own text.
import { re2Problem, withRe2 } from '../shared/re2.js';

export const MAX_GREP_CHARS = 200;
export const MAX_LINE_CHARS = 2_000;

const RELATIVE = /^(\d{1,7})([smhd])$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** RFC 3339 ("2026-11-23T10:00:00Z") or relative to now ("90s", "10m", "2h", "1d"); undefined if neither. */
export function sinceToUnixSeconds(value: string, nowMs: number): number | undefined {
  const rel = RELATIVE.exec(value);
  if (rel) return Math.max(0, nowMs / 1000 - Number(rel[1]) * UNIT_SECONDS[rel[2]!]!);
  if (!RFC3339.test(value)) return undefined;
  // Date keeps milliseconds; Docker's own timestamps carry nanoseconds, which we may drop.
  const ms = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** Why a grep pattern is refused, or undefined when it is fine (shared/re2.ts: linear time, freed at once). */
export function grepProblem(pattern: string, isRegex: boolean, ignoreCase = false): string | undefined {
  if (!isRegex) return undefined;
  return re2Problem(pattern, ignoreCase ? 'i' : '');
}

/** The lines that match, the pattern compiled once and freed at the end. */
export function grepLines<L extends { text: string }>(lines: readonly L[], pattern: string, isRegex: boolean, ignoreCase: boolean): L[] {
  if (isRegex) return withRe2(pattern, ignoreCase ? 'i' : '', (re) => lines.filter((l) => re.test(l.text)));
  const needle = ignoreCase ? pattern.toLowerCase() : pattern;
  return lines.filter((l) => (ignoreCase ? l.text.toLowerCase() : l.text).includes(needle));
}

const ANSI_CSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u0085\u2028\u2029]/g;

/** Colours dropped, other control characters (a carriage return could overwrite a shown line) made visible, length cut. */
export function cleanLine(text: string): string {
  const clean = text.replace(ANSI_CSI, '').replace(CONTROL, '\ufffd');
  return clean.length <= MAX_LINE_CHARS ? clean : `${clean.slice(0, MAX_LINE_CHARS)}… [line cut at ${MAX_LINE_CHARS} characters]`;
}

/** The newest lines whose text fits in maxBytes (UTF-8, one newline each). */
export function keepNewest<T extends { text: string }>(lines: readonly T[], maxBytes: number): { kept: T[]; dropped: number } {
  let bytes = 0;
  let i = lines.length;
  while (i > 0) {
    const next = Buffer.byteLength(lines[i - 1]!.text) + 1;
    if (bytes + next > maxBytes) break;
    bytes += next;
    i -= 1;
  }
  return { kept: lines.slice(i), dropped: i };
}
