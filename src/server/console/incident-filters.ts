// The Incidents list's filters, read from the query string: status, service, and a window on when
// an incident opened (ISO times or durations back from now, 24h). A value that does not parse is
// named back to the viewer; the list is never shown unfiltered as if the filter had applied.
import { z } from 'zod';
import { INCIDENT_STATUSES, type IncidentStatus } from '../../shared/incidents.js';
import { parseDurationMs, sortableIso } from '../../shared/durations.js';
import { singleQueryValues } from './form-input.js';

export const STATUS_CHOICES = ['active', ...INCIDENT_STATUSES] as const;
export const FILTER_FIELDS = ['status', 'service', 'since', 'until'] as const;
type Field = (typeof FILTER_FIELDS)[number];

/** What the viewer typed, kept to refill the form (shown escaped). */
export type FilterInput = Partial<Record<Field, string>>;

export interface IncidentFilter {
  status?: IncidentStatus | 'active';
  service?: string;
  since?: string;
  until?: string;
}

// A date, or a date and time with seconds optional: a time needs its zone (Z or an offset),
// because a bare one would be read in the server's zone and mean something else than typed.
const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;
const MAX_TEXT = 200;

/** Date parsing rolls 2026-02-30 over to March 2: a day the month does not have is refused instead. */
function realDay(iso: string): boolean {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** A stored ISO time from an ISO time or a duration back from `now`; undefined when it is neither. */
export function parseTimeFilter(text: string, now: Date): string | undefined {
  const t = text.trim();
  const ms = parseDurationMs(t, { seconds: true });
  try {
    if (ms !== undefined) return sortableIso(new Date(now.getTime() - ms));
    if (ISO.test(t) && realDay(t)) return sortableIso(new Date(t.toUpperCase()));
  } catch {
    return undefined; // outside the years 0000-9999, or a calendar date that does not exist
  }
  return undefined;
}

const timeField = (now: Date) => z.string().max(MAX_TEXT, `over ${MAX_TEXT} characters`).transform((v, ctx) => {
  const at = parseTimeFilter(v, now);
  if (at === undefined) ctx.addIssue({ code: 'custom', message: `"${v.slice(0, 40)}" is neither an ISO time (2026-11-23T10:00Z) nor a duration back from now (90m, 24h, 7d)` });
  return at ?? '';
});

const schema = (now: Date) => z.object({
  status: z.enum(STATUS_CHOICES, { error: `one of ${STATUS_CHOICES.join(', ')}` }).optional(),
  service: z.string().max(MAX_TEXT, `over ${MAX_TEXT} characters`).optional(),
  since: timeField(now).optional(),
  until: timeField(now).optional(),
}).refine((f) => !f.since || !f.until || f.since <= f.until, { message: 'since is after until', path: ['since'] });

export type FilterResult = { ok: true; filter: IncidentFilter; input: FilterInput } | { ok: false; errors: string[]; input: FilterInput };

/**
 * `queries`: each parameter with every value it was given. An empty field means "any"; a field
 * given twice is refused rather than one of its values picked silently.
 */
export function parseIncidentFilter(queries: Record<string, string[]>, now = new Date()): FilterResult {
  const { values: input, problems: errors } = singleQueryValues(queries, FILTER_FIELDS);
  const parsed = schema(now).safeParse(input);
  if (!parsed.success) errors.push(...parsed.error.issues.map((i) => `${i.path.join('.') || 'filter'}: ${i.message}`));
  if (errors.length > 0 || !parsed.success) return { ok: false, errors, input };
  const filter: IncidentFilter = {};
  for (const [key, value] of Object.entries(parsed.data)) if (value !== undefined) Object.assign(filter, { [key]: value });
  return { ok: true, filter, input };
}

/** The filters as a query string (`?status=open&since=24h`), as typed: links and the live fragment carry it. */
export function filterQuery(input: FilterInput): string {
  const params = new URLSearchParams();
  for (const field of FILTER_FIELDS) if (input[field] !== undefined) params.set(field, input[field]);
  const text = params.toString();
  return text ? `?${text}` : '';
}
