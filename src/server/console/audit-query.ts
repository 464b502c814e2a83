// The Audit page's filters, from its query string to AuditLog.search's filter: each bad value is
// named with what was expected, and nothing a viewer types becomes a pattern (a trailing * asks for
// a prefix of tool or target; every other character, % _ * included, is itself).
import { z } from 'zod';
import { sortableIso } from '../../shared/durations.js';
import type { AuditFilter } from '../../store/audit.js';
import { singleQueryValues } from './form-input.js';

export const FILTER_FIELDS = ['tool', 'principal', 'target', 'incident', 'since', 'until'] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

/** The query as typed, trimmed: what the form shows again and the page's links carry. */
export type RawFilters = Partial<Record<FilterField | 'before', string>>;

export interface ParsedFilters {
  raw: RawFilters;
  filter: AuditFilter;
  /** One line per bad value, naming the field; a bad field is left out of the search. */
  problems: string[];
}

const MAX_VALUE = 256;
/** A date, or a date-time with optional seconds, fraction and zone; no zone means UTC. */
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

const Text = z.string().max(MAX_VALUE, `longer than ${MAX_VALUE} characters`).regex(/^[^\p{Cc}]*$/u, 'contains control characters');
const Seq = z.string().regex(/^[1-9]\d{0,14}$/, 'expected an entry number (seq), a positive integer').transform(Number);

/** Its value at the start (`since`) or the end (`until`) of what was written: a bare date covers its whole day. */
function isoTime(text: string, end: boolean): string | undefined {
  const m = ISO_TIME.exec(text);
  if (!m) return undefined;
  const [, day, clock, zone] = m;
  // Date would roll 2025-02-30 over into March, and 24:00 into the next day: refuse them instead.
  if (new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) return undefined;
  if (clock && !/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?/.test(clock)) return undefined;
  const offset = !zone ? 'Z' : zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
  const at = new Date(`${day}T${clock ?? (end ? '23:59:59.999' : '00:00:00')}${offset}`);
  if (Number.isNaN(at.getTime())) return undefined;
  // A minute or a second given without finer parts covers all of it, at the end.
  if (end && clock && !clock.includes('.')) at.setTime(at.getTime() + (clock.length === 5 ? 59_999 : 999));
  // Stored times are compared as text: past 9999 (9999-12-31T23:30-05:00 is in the year 10000)
  // toISOString writes "+010000-...", which sorts before every stored time and would match nothing.
  try {
    return sortableIso(at);
  } catch {
    return undefined;
  }
}

const TIME_HINT = 'expected an ISO date or date-time such as 2025-01-31 or 2025-01-31T12:00:00Z (no zone: UTC), in the years 0000-9999';

/**
 * Reads the page's query string (`c.req.queries()`: every value of each parameter); unknown
 * parameters are ignored, one given twice is named and left out (form-input.ts, as the Incidents page).
 */
export function parseFilters(queries: Record<string, string[]>): ParsedFilters {
  const { values: raw, problems } = singleQueryValues(queries, [...FILTER_FIELDS, 'before'] as const);
  const filter: AuditFilter = {};
  const text = (key: FilterField): string | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    const r = Text.safeParse(v);
    if (r.success) return r.data;
    problems.push(`${key}: ${r.error.issues[0]!.message}`);
    return undefined;
  };
  const prefixed = (key: 'tool' | 'target'): void => {
    const v = text(key);
    if (v === undefined) return;
    if (v.endsWith('*') && v.length > 1) filter[`${key}Prefix`] = v.slice(0, -1);
    else filter[key] = v;
  };
  prefixed('tool');
  prefixed('target');
  const principal = text('principal');
  if (principal !== undefined) filter.principal = principal;
  const incident = text('incident');
  if (incident !== undefined) filter.incident = incident;
  for (const key of ['since', 'until'] as const) {
    const v = text(key);
    if (v === undefined) continue;
    const at = isoTime(v, key === 'until');
    if (at) filter[key] = at;
    else problems.push(`${key}: ${TIME_HINT}`);
  }
  if (filter.since && filter.until && filter.since > filter.until) problems.push(`since: ${filter.since} is after until (${filter.until})`);
  if (raw.before !== undefined) {
    const r = Seq.safeParse(raw.before);
    if (r.success) filter.before = r.data;
    else problems.push(`before: ${r.error.issues[0]!.message}`);
  }
  return { raw, filter, problems };
}

/** The page's URL for these filters (and another `before`): the links and the live fragment use it. */
export function filterQuery(raw: RawFilters, before?: number): string {
  const q = new URLSearchParams();
  for (const key of FILTER_FIELDS) if (raw[key] !== undefined) q.set(key, raw[key]!);
  if (before !== undefined) q.set('before', String(before));
  const s = q.toString();
  return s ? `?${s}` : '';
}
