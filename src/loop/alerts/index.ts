// One entry per alert endpoint: the payload schema and its normaliser. A payload that fails its
// schema is refused with the field that is wrong; the caller records it either way.
import { z } from 'zod';
import { AlertmanagerPayload, GrafanaPayload, fromAlertmanager, fromGrafana } from './alertmanager.js';
import { GENERIC_SHAPES, GenericPayload, fromGeneric } from './generic.js';
import { UptimeKumaPayload, fromUptimeKuma } from './uptime-kuma.js';
import type { ParseResult } from '../../shared/alerts.js';
import { describeIssues } from '../../validation.js';
import { flattenUnionIssues } from './union-issues.js';

export type AlertFormat = 'alertmanager' | 'grafana' | 'uptime-kuma' | 'generic';

interface Format {
  schema: z.ZodType;
  normalise: (p: never) => ParseResult;
  /** For a schema that is a union: each branch in words, in the union's order, for the 400 that matched none. */
  shapes?: readonly { name: string; form: string }[];
}

const FORMATS: Record<AlertFormat, Format> = {
  alertmanager: { schema: AlertmanagerPayload, normalise: fromAlertmanager },
  grafana: { schema: GrafanaPayload, normalise: fromGrafana },
  'uptime-kuma': { schema: UptimeKumaPayload, normalise: fromUptimeKuma },
  generic: { schema: GenericPayload, normalise: fromGeneric, shapes: GENERIC_SHAPES },
};

export function isAlertFormat(name: string): name is AlertFormat {
  return name in FORMATS;
}

/** How many field errors a 400 names, at most, and how long one may be (an unknown-keys error lists every key). */
const MAX_ISSUES_NAMED = 10;
const MAX_ISSUE_CHARS = 300;

/** Control, bidi and line-separator characters: a key the sender chose must not start a new log or terminal line, or colour it. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One field error as the 400 shows it: paths hold keys the sender chose, so escaped and capped (by code point, never half a pair). */
function shown(line: string): string {
  const escaped = line.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const points = Array.from(escaped.slice(0, MAX_ISSUE_CHARS * 2 + 2));
  return points.length > MAX_ISSUE_CHARS ? `${points.slice(0, MAX_ISSUE_CHARS).join('')}...` : escaped;
}

export type Parsed = { ok: true; result: ParseResult } | { ok: false; error: string };

export function parseAlertPayload(format: AlertFormat, body: unknown): Parsed {
  const { schema, normalise, shapes } = FORMATS[format];
  const parsed = schema.safeParse(body);
  if (parsed.success) return { ok: true, result: normalise(parsed.data as never) };
  const { issues, branch } = flattenUnionIssues(parsed.error.issues, body);
  const lines = describeIssues(new z.ZodError(issues));
  // A batch of a thousand bad alerts would make a reason of a thousand lines: the first few say enough.
  const fields = lines.slice(0, MAX_ISSUES_NAMED).map(shown).join('; ') + (lines.length > MAX_ISSUES_NAMED ? `; and ${lines.length - MAX_ISSUES_NAMED} more` : '');
  // Which shapes are accepted, and which one the fields above were checked against.
  const read = shapes && branch !== undefined
    ? ` (read as ${shapes[branch]?.name}; accepted: ${shapes.map((s) => `${s.name} ${s.form}`).join(' or ')})`
    : '';
  return { ok: false, error: `${format} payload: ${fields}${read}` };
}
