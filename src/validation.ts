// Turns zod issues into messages a person can act on: the field's path, and what was expected.
// Shared by config, policy, inventory and tool arguments so every surface names fields the same way.
import type { z } from 'zod';

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** One line per issue, e.g. `server.port: expected number, received string`. */
export function describeIssues(error: z.ZodError, root = ''): string[] {
  return error.issues.map((issue) => {
    const at = pathOf([...(root ? [root] : []), ...issue.path]);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (at ? `${at}.${k}` : k));
      return `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `${at || '(root)'}: ${issue.message}`;
  });
}
