// Principal patterns of the policy file. `*` stands for any run of characters, `/`, dots and every
// other character included, and the rest of a pattern stands for itself: a principal is an opaque
// name (an OAuth `sub` may hold any printable ASCII, `repo:acme/infra:ref:...`), never a path, so
// no principal may slip past `*` and no principal is matched through another spelling of it.
// Never picomatch here: its `*` stops at `/`, skips `.`/`..`, and strips a leading `./`.
import { z } from 'zod';

type Matcher = (principal: string) => boolean;

/**
 * Glob syntax picomatch gave meaning to: refused rather than read literally, so a policy written
 * for it cannot change meaning in silence (`!bots` read as a name would match nobody).
 */
const RETIRED = new Set(['?', '[', ']', '{', '}', '(', ')', '!']);

/** The pattern's literal parts, split at each unescaped `*`; or why it cannot be read. */
function parse(pattern: string): { parts: string[] } | { problem: string } {
  const parts: string[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const ch = pattern[i]!;
    if (ch === '\\') {
      if (i + 1 === pattern.length) return { problem: `"${pattern}" ends with a lone \\ (write \\\\ for a backslash)` };
      literal += pattern[(i += 1)];
    } else if (ch === '*') {
      parts.push(literal);
      literal = '';
    } else if (RETIRED.has(ch)) {
      return { problem: `"${pattern}": a principal pattern takes * (any characters) and literal text only; write \\${ch} for a literal ${ch}, and a list for several principals` };
    } else {
      literal += ch;
    }
  }
  return { parts: [...parts, literal] };
}

/** Literal parts joined by `*`: the first anchors the start, the last the end, the others in order between. */
function matches(parts: readonly string[], s: string): boolean {
  if (parts.length === 1) return s === parts[0];
  const first = parts[0]!;
  const last = parts.at(-1)!;
  if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
  const end = s.length - last.length;
  let at = first.length;
  for (const mid of parts.slice(1, -1)) {
    const found = s.indexOf(mid, at);
    if (found < 0 || found + mid.length > end) return false;
    at = found + mid.length;
  }
  return true;
}

/** One principal pattern, for the policy schema: its problem is reported at load with the field's path. */
export const PrincipalPattern = z.string().min(1).superRefine((p, ctx) => {
  const parsed = parse(p);
  if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

/** A matcher for one pattern or a list (any of them); undefined matches every principal. */
export function principalGlobs(patterns: string | string[] | undefined): Matcher {
  if (patterns === undefined) return () => true;
  const compiled = [patterns].flat().map((p) => {
    const parsed = parse(p);
    if ('problem' in parsed) throw new Error(`principal pattern ${parsed.problem}`);
    return parsed.parts;
  });
  return (principal) => compiled.some((parts) => matches(parts, principal));
}
