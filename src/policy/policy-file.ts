// The policy file: ordered rules (first match wins), limits (circuit breakers), kill switch and
// dry run. Unknown keys are errors, because a typo must never silently weaken a policy.
import { readSettingsFile } from '../shared/settings-file.js';
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError, errorMessage } from '../errors.js';
import { describeIssues } from '../validation.js';
import { PrincipalPattern, principalGlobs } from './principal-glob.js';
import { canonicalJson, sha256 } from '../store/canonical.js';
import { didYouMean } from '../shared/did-you-mean.js';
import { EFFECTS, type Effect } from '../shared/effects.js';
import { ROLES, type Role } from '../shared/roles.js';
import { DECISIONS, RISKS, type Decision, type Risk } from '../shared/tiers.js';


const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

const Rule = z.strictObject({
  name: z.string().min(1).optional(),
  principal: oneOrMany(PrincipalPattern).optional().describe('pattern(s) on the principal name: * is any characters, / included'),
  role: oneOrMany(z.enum(ROLES)).optional(),
  tool: oneOrMany(z.string().min(1)).optional().describe('glob(s) on the tool name'),
  risk: oneOrMany(z.enum(RISKS)).optional(),
  target: oneOrMany(z.string().min(1).refine((t) => !t.startsWith('!'), 'negated target patterns are not supported: put a rule for the exception before the general one'))
    .optional().describe('glob(s) on the target, e.g. "*/db-*"; a pattern without "/" is a name on any host'),
  service: z
    .strictObject({
      name: oneOrMany(z.string()).optional(),
      tier: oneOrMany(z.string()).optional(),
      owner: oneOrMany(z.string()).optional(),
      labels: z.record(z.string(), z.string()).optional(),
    })
    .optional()
    .describe('inventory attributes of the target'),
  decision: z.enum(DECISIONS),
  reason: z.string().optional(),
});

const Limit = z.strictObject({
  name: z.string().min(1).optional(),
  tool: oneOrMany(z.string().min(1)).optional().describe('glob(s) on the tool name'),
  effect: oneOrMany(z.enum(EFFECTS)).optional().describe('the kind of side effect: every tool that declares it'),
  principal: oneOrMany(PrincipalPattern).optional(),
  per: z.enum(['target', 'principal', 'overall']).default('target'),
  max: z.number().int().nonnegative(),
  // At most a year: the window's start is an ISO time the audit is searched from.
  windowMinutes: z.number().positive().max(366 * 24 * 60).default(10),
  then: z.enum(['notify', 'approve', 'deny']).default('deny'),
  reason: z.string().optional(),
}).refine((l) => l.tool !== undefined || l.effect !== undefined, { message: 'a limit needs tool or effect (or both)', path: ['tool'] });

export const PolicyFile = z.strictObject({
  killSwitch: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  defaults: z.strictObject(Object.fromEntries(RISKS.map((r) => [r, z.enum(DECISIONS).optional()])) as Record<Risk, z.ZodOptional<z.ZodEnum<{ [K in Decision]: K }>>>).optional(),
  rules: z.array(Rule).default([]),
  limits: z.array(Limit).default([]),
});
export type PolicyFile = z.infer<typeof PolicyFile>;

type Matcher = (value: string) => boolean;
const ANY: Matcher = () => true;

function globs(patterns: string | string[] | undefined): Matcher {
  if (patterns === undefined) return ANY;
  return picomatch(patterns, { dot: true });
}

/**
 * Target patterns, in a form nobody can get wrong: `*` (or `**`) alone matches every target; a
 * pattern with a `/` matches the whole target (`*` does not cross `/`: `*\/db` is db on any host);
 * a pattern without `/` matches the target's name on any host (`db`, `db-*`, `*db*`), or a target
 * that has no host part (`inventory`, `service:db`) whole.
 */
export function targetGlobs(patterns: string | string[] | undefined): Matcher {
  if (patterns === undefined) return ANY;
  const matchers = [patterns].flat().map((p): Matcher => {
    if (p === '*' || p === '**') return ANY;
    const m = picomatch(p, { dot: true });
    if (p.includes('/')) return m;
    return (target) => m(target.slice(target.lastIndexOf('/') + 1)) || m(target);
  });
  return (target) => matchers.some((m) => m(target));
}

function among<T extends string>(values: T | T[] | undefined): (value: T | undefined) => boolean {
  if (values === undefined) return () => true;
  const set = new Set<string>(Array.isArray(values) ? values : [values]);
  return (value) => value !== undefined && set.has(value);
}

function selector(tool: string | string[] | undefined, effect: Effect | Effect[] | undefined): CompiledLimit['selects'] {
  const byName = tool === undefined ? () => false : globs(tool);
  const byEffect = effect === undefined ? () => false : among(effect);
  return (name, eff) => byName(name) || byEffect(eff);
}

export interface CompiledRule {
  name: string;
  decision: Decision;
  reason?: string;
  principal: Matcher;
  role: (r: Role | undefined) => boolean;
  tool: Matcher;
  risk: (r: Risk | undefined) => boolean;
  target: Matcher;
  /** Rules that name inventory attributes match only targets the inventory knows. */
  service?: { name: (v?: string) => boolean; tier: (v?: string) => boolean; owner: (v?: string) => boolean; labels: Record<string, string> };
}

export interface CompiledLimit {
  name: string;
  /** Whether this limit counts calls of a tool: its name matches `tool`, or it declares one of `effect`. */
  selects: (tool: string, effect: Effect | undefined) => boolean;
  /** As written, for display. */
  tools: string[];
  effects: Effect[];
  principal: Matcher;
  per: 'target' | 'principal' | 'overall';
  max: number;
  windowMs: number;
  then: Decision;
  reason?: string;
}

export interface Policy {
  /** SHA-256 of what the file says (not its spacing): which policy was in force, for the audit. */
  hash: string;
  /** The file as parsed, for `warden policy lint`. */
  file: PolicyFile;
  killSwitch: boolean;
  dryRun: boolean;
  defaults: Record<Risk, Decision>;
  rules: CompiledRule[];
  limits: CompiledLimit[];
  source: string;
}

export function compilePolicy(file: PolicyFile, source: string, defaults: Record<Risk, Decision>): Policy {
  return {
    hash: sha256(canonicalJson(file)),
    file,
    killSwitch: file.killSwitch,
    dryRun: file.dryRun,
    defaults: { ...defaults, ...Object.fromEntries(Object.entries(file.defaults ?? {}).filter(([, v]) => v !== undefined)) },
    source,
    rules: file.rules.map((r, i) => ({
      name: r.name ?? `rules[${i}]`,
      decision: r.decision,
      reason: r.reason,
      principal: principalGlobs(r.principal),
      role: among(r.role),
      tool: globs(r.tool),
      risk: among(r.risk),
      target: targetGlobs(r.target),
      service: r.service && {
        name: among(r.service.name),
        tier: among(r.service.tier),
        owner: among(r.service.owner),
        labels: r.service.labels ?? {},
      },
    })),
    limits: file.limits.map((l, i) => ({
      name: l.name ?? `limits[${i}]`,
      selects: selector(l.tool, l.effect),
      tools: l.tool === undefined ? [] : [l.tool].flat(),
      effects: l.effect === undefined ? [] : [l.effect].flat(),
      principal: principalGlobs(l.principal),
      per: l.per,
      max: l.max,
      windowMs: l.windowMinutes * 60_000,
      then: l.then,
      reason: l.reason,
    })),
  };
}

export interface PolicyOptions {
  /** The catalog's tool names: a tool name or glob in the file that names none of them is an error. */
  knownTools?: readonly string[];
}

/** Tool names and globs that name no tool: a rule written for `gpu_rest` would never match. */
function unknownTools(file: PolicyFile, known: readonly string[]): string[] {
  const issues: string[] = [];
  const check = (where: string, patterns: string | string[] | undefined): void => {
    for (const p of patterns === undefined ? [] : [patterns].flat()) {
      const hit = /[*?[\]{}!]/.test(p) ? known.some((t) => picomatch.isMatch(t, p)) : known.includes(p);
      if (!hit) issues.push(`${where}: "${p}" names no tool${didYouMean(p, known)}`);
    }
  };
  file.rules.forEach((r, i) => check(`rules[${i}].tool`, r.tool));
  file.limits.forEach((l, i) => check(`limits[${i}].tool`, l.tool));
  return issues;
}

export function parsePolicy(text: string, source: string, defaults: Record<Risk, Decision>, opts: PolicyOptions = {}): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new InputError(`policy ${source}: not valid YAML: ${errorMessage(err)}`);
  }
  const parsed = PolicyFile.safeParse(raw);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error, '', PolicyFile);
    throw new InputError(`policy ${source}: ${issues.join('; ')}`, issues);
  }
  const unknown = opts.knownTools ? unknownTools(parsed.data, opts.knownTools) : [];
  if (unknown.length) throw new InputError(`policy ${source}: ${unknown.join('; ')}`, unknown);
  return compilePolicy(parsed.data, source, defaults);
}

export function loadPolicyFile(path: string, defaults: Record<Risk, Decision>, opts: PolicyOptions = {}): Policy {
  return parsePolicy(readSettingsFile(path, 'policy'), path, defaults, opts);
}
