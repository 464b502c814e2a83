// `warden policy lint`: rules that can never match. A rule is shadowed when an earlier rule
// matches everything it matches (each field the earlier one names, the later names the same way);
// a rule naming a service, tier, owner or label that no inventory entry has matches nothing.
import { canonicalJson } from '../store/canonical.js';
import type { ServiceRecord } from '../store/readers.js';
import type { PolicyFile } from './policy-file.js';

export interface LintFinding {
  rule: string;
  problem: string;
}

type RuleEntry = PolicyFile['rules'][number];
const FIELDS = ['principal', 'role', 'tool', 'risk', 'target', 'service'] as const;

const nameOf = (r: RuleEntry, i: number): string => r.name ?? `rules[${i}]`;
const same = (a: unknown, b: unknown): boolean => canonicalJson([a].flat()) === canonicalJson([b].flat());

/** Whether every call `later` matches, `earlier` matches too: a sound but partial test. */
function covers(earlier: RuleEntry, later: RuleEntry): boolean {
  return FIELDS.every((f) => earlier[f] === undefined || (earlier[f] !== undefined && same(earlier[f], later[f])) || isEverything(f, earlier[f]));
}

function isEverything(field: (typeof FIELDS)[number], value: unknown): boolean {
  return (field === 'tool' || field === 'principal' || field === 'target') && [value].flat().some((v) => v === '*' || v === '**');
}

function unknownInventory(r: RuleEntry, services: readonly ServiceRecord[]): string[] {
  const s = r.service;
  if (!s) return [];
  const problems: string[] = [];
  const check = (label: string, wanted: string | string[] | undefined, have: (svc: ServiceRecord) => string | null): void => {
    for (const w of wanted === undefined ? [] : [wanted].flat()) {
      if (!services.some((svc) => have(svc) === w)) problems.push(`no service in the inventory has ${label} "${w}"`);
    }
  };
  check('name', s.name, (svc) => svc.name);
  check('tier', s.tier, (svc) => svc.tier);
  check('owner', s.owner, (svc) => svc.owner);
  for (const [k, v] of Object.entries(s.labels ?? {})) {
    if (!services.some((svc) => svc.labels[k] === v)) problems.push(`no service in the inventory has label ${k}=${v}`);
  }
  return problems;
}

/** Without `services` (a policy file checked on its own) rules are not compared with an inventory. */
export function lintPolicy(file: PolicyFile, services?: readonly ServiceRecord[]): LintFinding[] {
  const findings: LintFinding[] = [];
  file.rules.forEach((rule, i) => {
    const earlier = file.rules.slice(0, i).findIndex((e) => covers(e, rule));
    if (earlier >= 0) findings.push({ rule: nameOf(rule, i), problem: `never matches: ${nameOf(file.rules[earlier]!, earlier)} (earlier) matches every call it does` });
    for (const p of services ? unknownInventory(rule, services) : []) findings.push({ rule: nameOf(rule, i), problem: `never matches: ${p}` });
  });
  return findings;
}
