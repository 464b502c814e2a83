// update_container_resources: `docker update` of memory, memory+swap, CPUs and the pids limit, as one
// change transaction (saved limits -> update, which Docker validates -> the container runs, and
// answers its health check, for verifySeconds -> or the old limits back). Bounded: never above the
// service's maxima in the inventory, never more than MAX_FACTOR times the current value without
// them, and never "unlimited".
import { z } from 'zod';
import type { ContainerResources } from '../adapters/docker-types.js';
import { ToolFailure } from '../errors.js';
import { bareName } from '../shared/containers.js';
import { CHANGE_OVERHEAD_MS, ChangeFields, Rejected, VerifySeconds, holdCheck, runChange, type ChangeKind } from './change-transaction.js';
import type { Probe } from './nginx-change.js';
import { healthProbe, runsNow } from './container-check.js';
import { ContainerRef, HostName, defineTool } from './spec.js';

/** Without maxima in the inventory, one call may raise a limit at most this many times. */
export const MAX_FACTOR = 4;
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const SIZE = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i;

/** Docker's size notation ("512m", "2g", bytes when bare), binary units, as --memory reads it. */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const bytes = Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const Size = z.string().max(20).refine((s) => parseSize(s) !== undefined, 'a size such as "512m" or "2g"');

const Input = z.strictObject({
  host: HostName,
  container: ContainerRef,
  memory: Size.optional().describe('Memory limit, e.g. "512m", "2g".'),
  memorySwap: Size.optional().describe('Memory+swap limit, at least memory.'),
  cpus: z.number().positive().max(1024).optional().describe('CPU limit in CPUs, e.g. 1.5.'),
  pidsLimit: z.number().int().positive().max(4_194_304).optional().describe('Process limit.'),
  start: z.boolean().default(false).describe('Also start it if it is not running.'),
  verifySeconds: VerifySeconds,
});
type Input = z.infer<typeof Input>;

interface ResourcesPlan {
  host: string;
  /** The container's full id: a recreated container of the same name is not this change's. */
  id: string;
  name: string;
  /** After the change: running (it was, or the call starts it). */
  mustRun: boolean;
  /** Before the change: a rollback puts it back as it was, stopped after an OOM kill included. */
  wasRunning: boolean;
  probe: Probe | null;
  verifySeconds: number;
}

const parseResources = (b: Buffer): ContainerResources => JSON.parse(b.toString('utf8')) as ContainerResources;
const bytes = (r: ContainerResources): Buffer => Buffer.from(JSON.stringify(r));
const mib = (n: number): string => (n <= 0 ? 'unlimited' : `${Math.round(n / 1024 ** 2)}MiB`);
export const describeResources = (r: ContainerResources): string =>
  `memory ${mib(r.memoryBytes)}, memory+swap ${r.memorySwapBytes === -1 ? 'unlimited' : r.memorySwapBytes === 0 ? 'default' : mib(r.memorySwapBytes)}, cpus ${r.nanoCpus ? r.nanoCpus / 1e9 : 'unlimited'}, pids ${r.pidsLimit ?? 'unlimited'}`;

/** The limits after the call; swap keeps its distance above memory unless given. */
export function nextResources(cur: ContainerResources, i: Pick<Input, 'memory' | 'memorySwap' | 'cpus' | 'pidsLimit'>): ContainerResources {
  const memoryBytes = i.memory !== undefined ? parseSize(i.memory)! : cur.memoryBytes;
  let memorySwapBytes = i.memorySwap !== undefined ? parseSize(i.memorySwap)! : cur.memorySwapBytes;
  if (i.memorySwap === undefined && i.memory !== undefined && cur.memorySwapBytes > 0) {
    memorySwapBytes = memoryBytes + Math.max(0, cur.memorySwapBytes - cur.memoryBytes);
  }
  return { memoryBytes, memorySwapBytes, nanoCpus: i.cpus !== undefined ? Math.round(i.cpus * 1e9) : cur.nanoCpus, pidsLimit: i.pidsLimit ?? cur.pidsLimit };
}

/** Why the new limits are not allowed, naming the field; undefined when they are. */
export function boundsProblem(cur: ContainerResources, next: ContainerResources, maxima: { maxMemory?: string; maxCpus?: number; maxPids?: number } | null): string | undefined {
  // The pids limit alone can be taken away again by an update (PidsLimit -1), so only it may be set first.
  const checks: Array<[string, number, number, number | undefined, boolean]> = [
    ['memory', cur.memoryBytes, next.memoryBytes, maxima?.maxMemory !== undefined ? parseSize(maxima.maxMemory) : undefined, false],
    ['cpus', cur.nanoCpus, next.nanoCpus, maxima?.maxCpus !== undefined ? maxima.maxCpus * 1e9 : undefined, false],
    ['pidsLimit', cur.pidsLimit ?? 0, next.pidsLimit ?? 0, maxima?.maxPids, true],
  ];
  for (const [field, was, now, max, removable] of checks) {
    if (now === was) continue;
    if (max !== undefined && now > max) return `${field}: above this service's maximum in the inventory (resources)`;
    if (was <= 0 && !removable) return `${field}: the container has no limit now, and docker update cannot remove one again, so warden does not set a first one (a rollback could not undo it); recreate the container with a limit`;
    if (was <= 0 && max === undefined) return `${field}: the container has no limit now; without resources maxima in the inventory warden does not set a first one`;
    if (max === undefined && now > was * MAX_FACTOR) return `${field}: more than ${MAX_FACTOR} times the current limit; set resources maxima for the service in the inventory to allow more`;
  }
  if (next.memorySwapBytes > 0 && next.memoryBytes > 0 && next.memorySwapBytes < next.memoryBytes) return 'memorySwap: must be at least memory';
  return undefined;
}


/** Only what differs: Docker ignores a 0 memory or CPU limit on update, so an unchanged field is never sent. */
export function changedFields(cur: ContainerResources, next: ContainerResources): Partial<ContainerResources> {
  const out: Partial<ContainerResources> = {};
  if (next.memoryBytes !== cur.memoryBytes) out.memoryBytes = next.memoryBytes;
  if (next.memorySwapBytes !== cur.memorySwapBytes && next.memorySwapBytes !== 0) out.memorySwapBytes = next.memorySwapBytes;
  if (next.nanoCpus !== cur.nanoCpus) out.nanoCpus = next.nanoCpus;
  if ((next.pidsLimit ?? 0) !== (cur.pidsLimit ?? 0)) out.pidsLimit = next.pidsLimit;
  return out;
}

const same = (a: ContainerResources, b: ContainerResources): boolean =>
  a.memoryBytes === b.memoryBytes && a.nanoCpus === b.nanoCpus && (a.pidsLimit ?? 0) === (b.pidsLimit ?? 0) && (b.memorySwapBytes === 0 || a.memorySwapBytes === b.memorySwapBytes);


export const containerResourcesKind: ChangeKind = {
  kind: 'container_resources',
  async drift(change, ctx) {
    const plan = change.plan as ResourcesPlan;
    const now = await ctx.adapters.docker(plan.host).resources(plan.id);
    const states = [change.beforeRef, change.afterRef].filter((r): r is string => r !== null).map((r) => parseResources(ctx.changes.load(r)));
    return states.some((st) => same(now, st)) ? undefined : `the limits of ${plan.name} were changed since change ${change.id} (now ${describeResources(now)}): a rollback would overwrite that; set them by hand or with a new change`;
  },
  async restore(change, ctx) {
    const plan = change.plan as ResourcesPlan;
    const before = parseResources(ctx.changes.load(change.beforeRef));
    const docker = ctx.adapters.docker(plan.host);
    const diff = changedFields(await docker.resources(plan.id), before);
    if (Object.keys(diff).length) await docker.updateResources(plan.id, diff);
    return `limits set back to ${describeResources(before)}`;
  },
  async check(change, ctx, expect) {
    const plan = change.plan as ResourcesPlan;
    const ref = expect === 'after' ? change.afterRef : change.beforeRef;
    if (ref === null) return { ok: false, detail: 'no after state was recorded' };
    const want = parseResources(ctx.changes.load(ref));
    const now = await ctx.adapters.docker(plan.host).resources(plan.id);
    if (!same(now, want)) return { ok: false, detail: `limits are ${describeResources(now)}, not ${describeResources(want)}` };
    const mustRun = expect === 'after' ? plan.mustRun : plan.wasRunning ?? plan.mustRun;
    if (!mustRun) return { ok: true, detail: `limits are ${describeResources(now)}` };
    return holdCheck(() => runsNow(ctx, plan), expect === 'after' ? plan.verifySeconds : Math.min(plan.verifySeconds, 3), ctx.signal);
  },
};

export const updateContainerResources = defineTool({
  name: 'update_container_resources',
  title: 'Change a container\'s resource limits',
  description:
    'Changes a container\'s memory, swap, CPU or pids limits (docker update); rolled back unless it keeps running and healthy for verifySeconds. ' +
    'After an OOM kill: raise memory, with start=true. At most the inventory maxima, else 4x the current limit; never removes a limit.',
  family: 'docker',
  risk: 'medium',
  effect: 'config',
  finishesAfterAbort: true,
  input: Input,
  output: z.object({ ...ChangeFields, before: z.string(), after: z.string() }),
  target: (i) => `${i.host}/${bareName(i.container)}`,
  resolve: (i) => {
    if (i.memory === undefined && i.memorySwap === undefined && i.cpus === undefined && i.pidsLimit === undefined) {
      throw new ToolFailure('invalid_input', 'give at least one of memory, memorySwap, cpus, pidsLimit');
    }
    return { deadlineMs: i.verifySeconds * 2_000 + CHANGE_OVERHEAD_MS };
  },
  plan: (i) => `docker update ${[i.memory && `--memory ${i.memory}`, i.memorySwap && `--memory-swap ${i.memorySwap}`, i.cpus && `--cpus ${i.cpus}`, i.pidsLimit && `--pids-limit ${i.pidsLimit}`].filter(Boolean).join(' ')} ${i.container} on ${i.host}${i.start ? ', then start it' : ''}, check it for ${i.verifySeconds} s, roll back on failure`,
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    const who = await docker.resolveContainer(input.container);
    const [cur, state] = await Promise.all([docker.resources(who.id), docker.containerState(who.id)]);
    const next = nextResources(cur, input);
    const problem = boundsProblem(cur, next, ctx.inventory.serviceAt(input.host, who.name)?.resources ?? null);
    if (problem) throw new ToolFailure('invalid_input', problem);
    const plan: ResourcesPlan = {
      host: input.host, id: who.id, name: who.name, mustRun: state.running || input.start, wasRunning: state.running, probe: healthProbe(ctx.inventory, input.host, who.name), verifySeconds: input.verifySeconds,
    };
    const summary = `${input.host}/${who.name}: ${describeResources(cur)} -> ${describeResources(next)}`;
    const done = await runChange(ctx, {
      kind: containerResourcesKind, target: `${input.host}/${who.name}`, service: ctx.inventory.serviceAt(input.host, who.name)?.name ?? null, summary, plan, before: bytes(cur),
      async apply() {
        const now = await docker.resources(who.id);
        if (!same(now, cur) || now.memorySwapBytes !== cur.memorySwapBytes) {
          throw new Rejected('limits changed meanwhile', new ToolFailure('target_failed', `the limits of ${who.name} changed while this change was prepared (now ${describeResources(now)}): nothing was changed; read them again and retry`));
        }
        await docker.updateResources(who.id, changedFields(cur, next)).catch((err: unknown) => {
          // Docker checks the values itself and changes nothing when it refuses them.
          if (err instanceof ToolFailure && err.kind === 'target_failed') throw new Rejected(err.message, err);
          throw err;
        });
        if (input.start && !state.running) await docker.startContainer(who.id);
        return { after: bytes(await docker.resources(who.id)), validation: `Docker accepted ${describeResources(next)}${input.start && !state.running ? '; started' : ''}` };
      },
    });
    return { ...done, before: describeResources(cur), after: describeResources(next) };
  },
  summarize: (o) => `${o.changeId} ${o.status}: ${o.summary}\ncheck: ${o.verification.split('\n')[0]!.slice(0, 300)}`,
});
