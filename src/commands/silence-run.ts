// The actions of `warden silence`, loaded when one runs, and the checks of add's flags: every flag
// is checked before the database is opened, so bad input leaves nothing written.
import type { ConfigLoader } from '../config.js';
import { CommandError, InputError } from '../errors.js';
import { parseDurationMs } from '../shared/durations.js';
import { matcherProblem, matchesEmpty, parseMatcher, renderMatchers, targetGlobRegex, type LabelMatcher } from '../shared/label-matchers.js';
import { MAX_SILENCE_MS, SilenceStore, silenceProblem, silenceStatus, type NewSilence, type SilenceProblem } from '../store/silences.js';
import { loadRecordsRuntime } from './load-runtime.js';
import { printJson, printLines, printTable } from './output.js';

export interface AddOptions {
  target?: string;
  service?: string;
  match: string[];
  for?: string;
  until?: string;
  reason: string;
  by: string;
  json?: boolean;
}

const MATCHER_FLAGS = '--target, --service or --match';
const FLAG_OF: Record<SilenceProblem['field'], string> = { matchers: MATCHER_FLAGS, endsAt: '--for or --until', reason: '--reason', by: '--by' };
// A time without a zone means a different instant on every machine: refused rather than guessed.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

function flagMatcher(flag: string, text: string, matcher: LabelMatcher): LabelMatcher {
  const why = matcherProblem(matcher);
  if (why) throw new InputError(`${flag} "${text}": ${why}`);
  return matcher;
}

/** The matchers the flags name, all of which must hold. */
export function matchersFromFlags(opts: Pick<AddOptions, 'target' | 'service' | 'match'>): LabelMatcher[] {
  const ms: LabelMatcher[] = [];
  if (opts.target !== undefined) {
    const glob = opts.target.trim();
    if (glob === '') throw new InputError('--target: expected a target pattern such as web-* or local/web-*');
    ms.push(flagMatcher('--target', opts.target, { name: 'target', op: '=~', value: targetGlobRegex(glob) }));
  }
  if (opts.service !== undefined) {
    if (opts.service.trim() === '') throw new InputError('--service: expected a service name');
    ms.push(flagMatcher('--service', opts.service, { name: 'service', op: '=', value: opts.service.trim() }));
  }
  for (const expr of opts.match) {
    const parsed = parseMatcher(expr);
    if ('problem' in parsed) throw new InputError(`--match ${parsed.problem}`);
    ms.push(parsed.matcher);
  }
  if (ms.length === 0) throw new InputError(`one of ${MATCHER_FLAGS} is required: what the silence covers`);
  if (matchesEmpty(ms)) throw new InputError(`${MATCHER_FLAGS}: ${renderMatchers(ms)} matches alerts without any labels; at least one matcher must require a value`);
  return ms;
}

/** When the silence ends: `--for` from now, or `--until` a time; within 30 days. */
export function endsAtFromFlags(opts: Pick<AddOptions, 'for' | 'until'>, now: Date): Date {
  const within = (flag: string, text: string, ms: number): Date => {
    if (ms <= 0) throw new InputError(`${flag} "${text}": must be in the future`);
    if (ms > MAX_SILENCE_MS) throw new InputError(`${flag} "${text}": a silence lasts at most 30 days`);
    return new Date(now.getTime() + ms);
  };
  if (opts.for !== undefined) {
    const ms = parseDurationMs(opts.for);
    if (ms === undefined) throw new InputError(`--for "${opts.for}": expected a duration such as 90m, 2h, 1h30m, 3d or 1w`);
    if (ms === 0) throw new InputError(`--for "${opts.for}": must be longer than zero`);
    return within('--for', opts.for, ms);
  }
  if (opts.until !== undefined) {
    const at = ISO_TIME.test(opts.until.trim()) ? Date.parse(opts.until.trim().replace(/(\.\d{3})\d+/, '$1')) : NaN;
    if (Number.isNaN(at)) throw new InputError(`--until "${opts.until}": expected an ISO 8601 time with a zone, e.g. 2026-05-01T18:00:00Z`);
    return within('--until', opts.until, at - now.getTime());
  }
  throw new InputError('one of --for or --until is required: when the silence ends');
}

function newSilence(opts: AddOptions, now: Date): NewSilence {
  const s: NewSilence = { matchers: matchersFromFlags(opts), endsAt: endsAtFromFlags(opts, now), reason: opts.reason, by: opts.by };
  const problem = silenceProblem(s, now);
  if (problem) throw new InputError(`${FLAG_OF[problem.field]}: ${problem.problem}`);
  return s;
}

export async function addSilence(loadConfig: ConfigLoader, opts: AddOptions): Promise<void> {
  const now = new Date();
  const input = newSilence(opts, now);
  const rt = await loadRecordsRuntime(loadConfig());
  try {
    const s = new SilenceStore(rt.db, rt.audit).add(input, now);
    if (opts.json) return printJson(s);
    printLines([`silence ${s.id} until ${s.endsAt}: ${renderMatchers(s.matchers)}`]);
  } finally {
    await rt.close();
  }
}

export async function listSilences(loadConfig: ConfigLoader, opts: { all?: boolean; json?: boolean }): Promise<void> {
  const rt = await loadRecordsRuntime(loadConfig());
  const now = new Date();
  const list = new SilenceStore(rt.db, rt.audit).list({ all: opts.all }, now).map((s) => ({ ...s, status: silenceStatus(s, now) }));
  await rt.close();
  if (opts.json) return printJson(list);
  printTable(['ID', 'STATUS', 'UNTIL', 'BY', 'MATCHERS', 'REASON'],
    list.map((s) => [s.id, s.status, s.endsAt, s.createdBy, renderMatchers(s.matchers), s.reason]), opts.all ? 'no silences' : 'no active silences');
}

export async function removeSilence(loadConfig: ConfigLoader, id: string, opts: { by: string; json?: boolean }): Promise<void> {
  const rt = await loadRecordsRuntime(loadConfig());
  try {
    if (!new SilenceStore(rt.db, rt.audit).remove(id, opts.by)) {
      throw new CommandError(`no active silence ${id} (unknown, expired or already removed); warden silence list shows them`);
    }
    if (opts.json) return printJson({ id, status: 'removed', removedBy: opts.by });
    printLines([`silence ${id} removed`]);
  } finally {
    await rt.close();
  }
}
