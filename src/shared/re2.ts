// RE2 (re2-wasm, Google's engine as WebAssembly) for every pattern a caller supplies: matching takes
// time linear in the text whatever the pattern, so `((a)+)+$` over a long line cannot block the
// process. RE2 has no backreferences or lookaround; such a pattern is refused with RE2's words.
// The module has one fixed 16 MiB heap and a compiled pattern lives there until deleted: every
// compile is freed before returning, or a few calls would leave regexes broken for everyone.
import { loadOnUse } from './load-on-use.js';
import type { RE2 } from 're2-wasm';

export type Re2 = RE2;

/** Loaded at the first pattern: compiling the WebAssembly costs about 12 MiB and a fifth of a second under load, which a process that never matches one should not pay. */
let re2Class: typeof RE2 | undefined;
const loadRe2 = (): typeof RE2 => (re2Class ??= loadOnUse<{ RE2: typeof RE2 }>('re2-wasm').RE2);

/** Compiling these costs hundreds of milliseconds on the event loop (a unicode class, a big count). */
const COSTLY = /\\[pP]|\{\s*\d{3,}|,\s*\d{3,}\s*\}/;

/** Compiles `pattern` ('u' and the flags given), hands it to `use`, and frees it. Throws RE2's error. */
export function withRe2<T>(pattern: string, flags: string, use: (re: Re2) => T): T {
  const Re2Engine = loadRe2();
  const re = new Re2Engine(pattern, `${flags}u`);
  try {
    return use(re);
  } finally {
    (re as unknown as { wrapper?: { delete(): void } }).wrapper?.delete();
  }
}

/** Why `pattern` is not a regex warden runs, or undefined when it compiles (as each of `forms` of it). */
export function re2Problem(pattern: string, flags = '', forms: ReadonlyArray<(p: string) => string> = [(p) => p]): string | undefined {
  if (COSTLY.test(pattern)) return 'unicode property classes (\\p) and counts above 99 ({n}) are refused: they cost too much to compile';
  try {
    for (const form of forms) withRe2(form(pattern), flags, () => undefined);
    return undefined;
  } catch (err) {
    const why = (err as Error).message.replace(/^Invalid regular expression: \/.*\/u?: /s, '').replace(/^abort\(Cannot enlarge memory.*/s, 'the pattern needs more memory than warden gives a regex');
    return `not a regular expression warden runs (RE2 syntax: no backreferences or lookaround): ${why.slice(0, 200)}`;
  }
}
