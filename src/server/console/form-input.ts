// What a console request says, read one way everywhere: a posted form's text fields and a query
// string's parameters, each given at most once. A field given twice (reason=a&reason=b) is refused
// naming it, never one of its values picked silently; a body that does not parse as the form its
// Content-Type claims is a 400 "malformed form body", not an internal error.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';

export const MALFORMED_FORM = 'malformed form body';

export type FormRead = { ok: true; fields: Record<string, string> } | { ok: false; problem: string };

const given = (field: string, times: number): string => `${field}: given ${times} times; give it once`;

const isForm = (type: string): boolean => {
  const media = type.split(';')[0]!.trim().toLowerCase();
  return media === 'application/x-www-form-urlencoded' || media === 'multipart/form-data';
};

/**
 * The form's text fields (none when the body is not a form). Hono caches the parsed body, so the
 * CSRF check and the handler read it once between them; a parse that failed fails again the same way.
 */
export async function readForm(c: Context): Promise<FormRead> {
  if (!isForm(c.req.header('content-type') ?? '')) return { ok: true, fields: Object.create(null) as Record<string, string> };
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    return { ok: false, problem: MALFORMED_FORM };
  }
  const fields = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(body)) {
    // Hono collects `name[]` into an array even once; it is still one field given once.
    const values = Array.isArray(value) ? value : [value];
    if (values.length > 1) return { ok: false, problem: given(name.slice(0, 64), values.length) };
    if (typeof values[0] !== 'string') return { ok: false, problem: `${name.slice(0, 64)}: a file where text was expected` };
    fields[name] = values[0];
  }
  return { ok: true, fields };
}

/**
 * For middleware that needs one field before the handler runs (the CSRF token): a form that cannot
 * be read ends the request with 400 and the problem, as the handler would answer it.
 */
export async function formFieldOrRefuse(c: Context, name: string): Promise<string | undefined> {
  const form = await readForm(c);
  if (!form.ok) throw new HTTPException(400, { message: form.problem });
  return form.fields[name];
}

/**
 * `fields` from a query string (`c.req.queries()`: every value of each parameter), trimmed; an empty
 * value means "not given". A parameter given twice with values is named in `problems` and left out
 * of `values`: neither of its values is used.
 */
export function singleQueryValues<F extends string>(queries: Record<string, string[]>, fields: readonly F[]): { values: Partial<Record<F, string>>; problems: string[] } {
  const values: Partial<Record<F, string>> = {};
  const problems: string[] = [];
  for (const field of fields) {
    const sent = (Object.hasOwn(queries, field) ? queries[field]! : []).map((v) => v.trim()).filter((v) => v !== '');
    if (sent.length > 1) problems.push(given(field, sent.length));
    else if (sent[0] !== undefined) values[field] = sent[0];
  }
  return { values, problems };
}
