// Alertmanager-style label matchers (name=value, name!=value, name=~regex, name!~regex): parsing,
// rendering and matching, pure. A regex must match the whole value, as Alertmanager anchors it, and
// runs on RE2 (linear time whatever the pattern); every compiled pattern is freed before returning,
// because re2-wasm has one fixed heap for the whole process.
import { re2Problem, withRe2 } from './re2.js';

export const MATCH_OPS = ['=', '!=', '=~', '!~'] as const;
export type MatchOp = (typeof MATCH_OPS)[number];

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

export const MAX_MATCHER_VALUE_CHARS = 256;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// The operator right after the name; `=~` and `!~` before `=` and `!=`, which they begin with.
const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)(.*)$/s;

/** Why `pattern` is not a regex a matcher may hold, or undefined when it is fine. */
export function regexProblem(pattern: string): string | undefined {
  // The pattern alone first: one that compiles is balanced, so wrapping it cannot change its meaning.
  return re2Problem(pattern, '', [(p) => p, anchored]);
}

function anchored(pattern: string): string {
  return `^(?:${pattern})$`;
}

/** Why a matcher cannot be used, or undefined when it is fine. */
export function matcherProblem(m: LabelMatcher): string | undefined {
  if (!LABEL_NAME.test(m.name)) return `"${m.name}" is not a label name (letters, digits and _, not starting with a digit)`;
  if (!MATCH_OPS.includes(m.op)) return `"${m.op}" is not an operator (=, !=, =~, !~)`;
  if (m.value.length > MAX_MATCHER_VALUE_CHARS) return `the value of ${m.name} is longer than ${MAX_MATCHER_VALUE_CHARS} characters`;
  if (m.op === '=~' || m.op === '!~') {
    const why = regexProblem(m.value);
    if (why) return `${m.name}${m.op}: ${why}`;
  }
  return undefined;
}

/** `name=value`, `name!=value`, `name=~regex` or `name!~regex`; the value may be double-quoted as JSON. */
export function parseMatcher(text: string): { matcher: LabelMatcher } | { problem: string } {
  const m = MATCHER.exec(text);
  if (!m) return { problem: `"${text}" is not a matcher: expected name=value, name!=value, name=~regex or name!~regex` };
  let value = m[3]!.trim();
  if (value.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed !== 'string') throw new Error('not a string');
      value = parsed;
    } catch {
      return { problem: `"${text}": a quoted value must be one JSON string ("a \\"b\\" c")` };
    }
  }
  const matcher: LabelMatcher = { name: m[1]!, op: m[2] as MatchOp, value };
  const problem = matcherProblem(matcher);
  return problem ? { problem } : { matcher };
}

/** `name="value"`, as Alertmanager prints a matcher. */
export function renderMatcher(m: LabelMatcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

export function renderMatchers(ms: readonly LabelMatcher[]): string {
  return `{${ms.map(renderMatcher).join(', ')}}`;
}

/**
 * Whether every matcher holds, reading values through `valueOf` (an absent label reads as '', as in
 * Alertmanager: `name=""` matches an alert without it). Regexes are compiled for this call only.
 */
export function matchesAll(ms: readonly LabelMatcher[], valueOf: (name: string) => string): boolean {
  return ms.every((m) => {
    const value = valueOf(m.name);
    switch (m.op) {
      case '=': return value === m.value;
      case '!=': return value !== m.value;
      case '=~': return withRe2(anchored(m.value), '', (re) => re.test(value));
      case '!~': return !withRe2(anchored(m.value), '', (re) => re.test(value));
    }
  });
}

/** Whether the matchers would hold for an alert with no labels at all: such a set covers nearly everything. */
export function matchesEmpty(ms: readonly LabelMatcher[]): boolean {
  return matchesAll(ms, () => '');
}

const REGEX_SPECIAL = /[\\^$.|?*+()[\]{}]/g;

/**
 * A target glob as a regex, with the meaning policy targets give it: `*` (or `**`) alone matches
 * everything; `*` does not cross `/`; a pattern with a `/` matches the whole target (`local/web-*`),
 * one without matches the container name on any host or a target without a host part (`web-*`).
 */
export function targetGlobRegex(glob: string): string {
  if (glob === '*' || glob === '**') return '.*';
  const body = glob
    .split(/(\*\*|\*|\?)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(REGEX_SPECIAL, '\\$&')))
    .join('');
  return glob.includes('/') ? body : `(?:.*/)?${body}`;
}
