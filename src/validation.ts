// Turns zod issues into messages a person can act on: the field's path, and what was expected.
// Shared by config, policy, inventory and tool arguments so every surface names fields the same way.
import type { z } from 'zod';
import { didYouMean } from './shared/did-you-mean.js';

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType; element?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[]; getter?: () => z.ZodType };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The keys an object schema at `path` declares (through defaults, optionals, arrays, unions), for a did-you-mean. */
function keysAt(schema: z.ZodType | undefined, path: ReadonlyArray<PropertyKey>, depth = 0): string[] {
  if (!schema || depth > 64) return [];
  const d = defOf(schema);
  const inner = d.innerType ?? d.in ?? d.getter?.();
  if (inner) return keysAt(inner, path, depth + 1);
  if (d.type === 'union') return [...new Set((d.options ?? []).flatMap((o) => keysAt(o, path, depth + 1)))];
  if (path.length === 0) return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
  const [head, ...rest] = path;
  if (d.type === 'object' && typeof head === 'string') return keysAt(d.shape?.[head], rest, depth + 1);
  if (d.type === 'array' && typeof head === 'number') return keysAt(d.element, rest, depth + 1);
  if (d.type === 'record') return keysAt(d.valueType, rest, depth + 1);
  return [];
}

/**
 * One line per issue, e.g. `server.port: expected number, received string`. With `schema` (the
 * one that failed), an unknown key names the closest key it declares: `unknown key "logLevle"; did you mean "logLevel"?`.
 */
export function describeIssues(error: z.ZodError, root = '', schema?: z.ZodType): string[] {
  return error.issues.flatMap((issue) => {
    const at = pathOf([...(root ? [root] : []), ...issue.path]);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (at ? `${at}.${k}` : k));
      if (!schema) return [`unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`];
      const known = keysAt(schema, issue.path);
      return issue.keys.map((k, i) => `unknown key "${keys[i]}"${didYouMean(k, known)}`);
    }
    return [`${at || '(root)'}: ${issue.message}`];
  });
}
