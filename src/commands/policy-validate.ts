// `warden policy validate FILE`: one policy file on its own, checked as warden would load it, before
// it is put in place. Reads no config, opens no database, creates no data dir.
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { readSettingsFile } from '../shared/settings-file.js';
import { parsePolicy, type Policy } from '../policy/policy-file.js';
import { lintPolicy, type LintFinding } from '../policy/policy-lint.js';
import { DEFAULT_DECISION } from '../shared/tiers.js';
import { CATALOG } from '../tools/catalog.js';
import { cell, printJson, printLines } from './output.js';

export interface PolicyCheck {
  policy: Policy;
  /** Rules an earlier rule shadows; rules naming services are only compared with an inventory by `policy lint`. */
  warnings: LintFinding[];
}

/** Throws InputError (exit 2) listing every problem, each with its field path; `issues` holds them one by one. */
export function checkPolicyFile(path: string): PolicyCheck {
  // Read here rather than by loadPolicyFile: a named pipe or /dev/zero is refused instead of hanging.
  const policy = parsePolicy(readSettingsFile(path, 'policy'), path, DEFAULT_DECISION, { knownTools: CATALOG.map((t) => t.name) });
  return { policy, warnings: lintPolicy(policy.file) };
}

/** The problems of a refused file one per line, however the loader joined them. */
export function problemsOf(err: InputError): string[] {
  return err.issues.length ? [...err.issues] : [err.message];
}

export function validatePolicy(file: string, opts: { json?: boolean }): void {
  const path = resolve(file);
  let checked: PolicyCheck;
  try {
    checked = checkPolicyFile(path);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    const problems = problemsOf(err);
    if (opts.json) printJson({ policy: path, valid: false, problems, warnings: [] });
    throw new InputError(err.issues.length ? `policy ${path}: ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}` : err.message);
  }
  const { policy, warnings } = checked;
  if (opts.json) {
    printJson({ policy: path, valid: true, rules: policy.file.rules.length, limits: policy.file.limits.length, hash: policy.hash, problems: [], warnings });
    return;
  }
  printLines([
    `ok: ${path} (${policy.file.rules.length} rules, ${policy.file.limits.length} limits, hash ${policy.hash.slice(0, 12)})`,
    // A rule's name is the file's text: escaped like a table cell, so it cannot drive the terminal.
    ...warnings.map((w) => cell(`warning: ${w.rule}: ${w.problem}`)),
  ]);
}
