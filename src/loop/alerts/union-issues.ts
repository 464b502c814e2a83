// zod reports a union that matched none of its branches as one `(root): Invalid input`, which
// tells a sender nothing. This picks the branch the payload came closest to and names its fields.
// Pure: no I/O, and it never throws on any input (the payload is whatever a sender POSTed).
import { z } from 'zod';

type Issue = z.core.$ZodIssue;
type Path = PropertyKey[];

/** Whether `input` holds a value at `path`, i.e. a required field was sent (possibly wrong) rather than left out. */
function present(input: unknown, path: Path): boolean {
  let at: unknown = input;
  for (const part of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return false;
    at = (at as Record<PropertyKey, unknown>)[part];
  }
  return true;
}

function valueAt(input: unknown, path: Path): unknown {
  let at: unknown = input;
  for (const part of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[part];
  }
  return at;
}

/**
 * How far a branch is from the payload's shape: keys it does not know, and top-level fields it
 * requires that were not sent at all. A wrong value deep inside counts less than a wrong shape,
 * so `{"alerts": [{"summary": 1}]}` is read as a batch with a bad summary, not a single alert.
 */
function misfit(issues: Issue[], input: unknown): [number, number] {
  let shape = 0;
  for (const i of issues) {
    if (i.code === 'unrecognized_keys' && i.path.length === 0) shape += i.keys.length;
    else if (i.path.length === 1 && !present(input, i.path)) shape += 1;
  }
  return [shape, issues.length];
}

/** The issues of the branch closest to `input`: fewest shape mismatches, then fewest issues, then the first. */
function closestBranch(branches: Issue[][], input: unknown): { index: number; issues: Issue[] } {
  let best = 0;
  let bestScore: [number, number] = [Infinity, Infinity];
  branches.forEach((issues, index) => {
    const score = misfit(issues, input);
    if (score[0] < bestScore[0] || (score[0] === bestScore[0] && score[1] < bestScore[1])) {
      best = index;
      bestScore = score;
    }
  });
  return { index: best, issues: branches[best] ?? [] };
}

export interface UnionFlattening {
  issues: Issue[];
  /** The branch chosen for the outermost union that failed, when there was one. */
  branch?: number;
}

/**
 * Replaces each union that matched nothing with its closest branch's issues, their paths made
 * absolute (zod gives a branch's paths relative to the union), recursively for nested unions.
 */
export function flattenUnionIssues(issues: readonly Issue[], input: unknown): UnionFlattening {
  const out: Issue[] = [];
  let branch: number | undefined;
  for (const issue of issues) {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) {
      out.push(issue);
      continue;
    }
    const here = valueAt(input, issue.path as Path);
    const chosen = closestBranch(issue.errors as Issue[][], here);
    branch ??= chosen.index;
    const inner = flattenUnionIssues(chosen.issues, here).issues;
    for (const i of inner) out.push({ ...i, path: [...issue.path, ...i.path] } as Issue);
  }
  return { issues: out, branch };
}
