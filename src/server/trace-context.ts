// The W3C trace context a client may send in a request's _meta (SEP-414): a valid `traceparent`
// is carried to the call's audit entries, so an entry can be found from the trace that caused it.
// Anything else is dropped unread: it never reaches the audit, and never grows an entry.
import { TRACEPARENT_META_KEY } from '@modelcontextprotocol/server';

/**
 * version-traceid-parentid-flags, lowercase hex, exactly 55 characters. A later version may add
 * fields after the flags; none is defined, and only what can be checked is kept, so they are refused.
 */
const TRACEPARENT = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A valid traceparent, or undefined. */
export function validTraceparent(value: unknown): string | undefined {
  return typeof value === 'string' && value.length === 55 && TRACEPARENT.test(value) ? value : undefined;
}

/** What a request's _meta gives the caller: `{ traceparent }` when it holds a valid one, else nothing. */
export function traceOf(meta: unknown): { traceparent?: string } {
  if (meta === null || typeof meta !== 'object') return {};
  const traceparent = validTraceparent((meta as Record<string, unknown>)[TRACEPARENT_META_KEY]);
  return traceparent ? { traceparent } : {};
}
