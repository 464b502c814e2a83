// reload_nginx: `nginx -t` first, `nginx -s reload` only when it passed, then proof that the master
// lived and started new workers. Every step is a fixed argv from nginx.ts through one CommandRunner:
// the host's own (local or SSH), or docker exec into the container nginx runs in. Never a shell.
import { z } from 'zod';
import type { CommandResult, CommandRunner, RunOptions } from '../adapters/commands.js';
import { ToolFailure } from '../errors.js';
import type { InventoryReader } from '../store/readers.js';
import {
  AbsolutePath, confineNginxPaths, catArgv, childrenArgv, nginxBuild, nginxBuildArgv, nginxDumpArgv, nginxOutput, nginxReloadArgv,
  parseChildren, parsePid, pidDirective, pidFileNeedsBuild, processDirArgv, resolvePidPath, workersReplaced, type NginxTarget,
} from './nginx.js';
import { ContainerRef, type ToolContext } from './spec.js';
import { bareName } from '../shared/containers.js';

const SETTLE_MS = 10_000;
const POLL_MS = 100;
const STEP = { timeoutMs: 30_000, maxOutputBytes: 64 * 1024 };
// -T prints the whole configuration; the pid directive is in the main file, printed first.
const DUMP = { timeoutMs: 30_000, maxOutputBytes: 1024 * 1024 };

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'an inventory name');

/** Where nginx runs and how to address it; resolved from the input or an inventory service. */
export interface NginxPlace {
  host: string;
  container?: string;
  service?: string;
  paths: NginxTarget;
}

/** Where nginx runs, as the nginx tools take it: a service, or host (container, confPath, prefix). */
export const NginxPlaceInput = z.strictObject({
  service: Name.optional().describe('Inventory service with an nginx entry; give it alone.'),
  host: Name.optional().describe('Inventory host; default "local".'),
  container: ContainerRef.optional().describe('Container nginx runs in, on host.'),
  confPath: AbsolutePath.optional().describe('Main config file (nginx -c).'),
  prefix: AbsolutePath.optional().describe('Prefix directory (nginx -p).'),
});
export type NginxPlaceInput = z.infer<typeof NginxPlaceInput>;

/** The canonical target of an nginx, however it was named: `host/nginx`, or `host/<container>`. */
export const nginxTarget = (p: { host: string; container?: string | null }): string => `${p.host}/${p.container ?? 'nginx'}`;

export const where = (p: NginxPlace): string => (p.container ? `container ${p.container} on host ${p.host}` : `host ${p.host}`);

/** The place as the input names it, without a service. */
function directPlace(input: NginxPlaceInput): NginxPlace {
  const paths = { ...(input.prefix ? { prefix: input.prefix } : {}), ...(input.confPath ? { confPath: input.confPath } : {}) };
  return { host: input.host ?? 'local', ...(input.container ? { container: bareName(input.container) } : {}), paths };
}

/** The place named directly, or by the service's inventory entry; the inventory's paths are checked like the input's. */
export function nginxPlace(input: NginxPlaceInput, inventory: InventoryReader): NginxPlace {
  if (input.service === undefined) {
    const place = directPlace(input);
    confineNginxPaths(place.host, place.paths, inventory, place.container);
    return place;
  }
  const extra = (['host', 'container', 'confPath', 'prefix'] as const).filter((k) => input[k] !== undefined);
  if (extra.length) throw new ToolFailure('invalid_input', `give either service or ${extra.join('/')}, not both: the service's inventory entry says where its nginx is`);
  const s = inventory.service(input.service);
  if (!s) throw new ToolFailure('invalid_input', `no service "${input.service}" in the inventory; query_inventory lists the services`);
  if (!s.nginx) throw new ToolFailure('invalid_input', `service "${s.name}" has no nginx entry in the inventory; give host (and confPath, prefix or container) instead`);
  const path = (key: 'confPath' | 'prefix'): Record<string, string> => {
    const v = s.nginx?.[key];
    if (v === undefined) return {};
    if (!AbsolutePath.safeParse(v).success) throw new ToolFailure('invalid_input', `the inventory's nginx.${key} of service "${s.name}" is not a plain absolute path; fix the inventory`);
    return { [key]: v };
  };
  return { host: s.host, service: s.name, ...(s.nginx.container ? { container: s.nginx.container } : {}), paths: { ...path('prefix'), ...path('confPath') } };
}

/** The host's runner, or one that runs each argv inside the container with docker exec. */
export function runnerFor(p: NginxPlace, ctx: Pick<ToolContext, 'adapters'>): CommandRunner {
  if (!p.container) return ctx.adapters.commands(p.host);
  const docker = ctx.adapters.docker(p.host);
  const container = p.container;
  return { host: p.host, run: (argv, opts) => docker.exec(container, argv, opts) };
}

const lastLines = (text: string, n = 10): string => text.split('\n').slice(-n).join('\n');

/** One step; a missing nginx is the caller's mistake (wrong host or container), not the target's refusal. */
async function step(r: CommandRunner, p: NginxPlace, argv: string[], opts: RunOptions): Promise<CommandResult> {
  const res = await r.run(argv, opts);
  if (argv[0] === 'nginx' && (res.exitCode === 127 || res.exitCode === 126)) {
    throw new ToolFailure('invalid_input', `nginx is not installed in ${where(p)} (or not runnable from its PATH; the inventory can set nginxPath for a host)`, { exitCode: res.exitCode });
  }
  return res;
}

/** `nginx -T`: the -t test (verdict on stderr) plus the config dump that names the pid file. Throws when the test fails. */
export async function testConfig(r: CommandRunner, p: NginxPlace, signal: AbortSignal): Promise<{ dump: string; output: string; truncated: boolean }> {
  const res = await step(r, p, nginxDumpArgv(p.paths), { ...DUMP, signal });
  const test = nginxOutput('', res.stderr);
  if (res.exitCode !== 0) {
    throw new ToolFailure(
      'target_failed',
      `nginx -t failed in ${where(p)} (exit ${res.exitCode}), so nginx was NOT reloaded and keeps serving its current configuration. Fix the config and test it with nginx_test_config. nginx said:\n${test.output}`,
      { exitCode: res.exitCode, tail: lastLines(test.output) },
    );
  }
  return { dump: res.stdout, ...test };
}

async function pidFileOf(r: CommandRunner, p: NginxPlace, dump: string, signal: AbortSignal): Promise<string> {
  const directive = pidDirective(dump);
  if (!pidFileNeedsBuild(directive, p.paths.prefix)) return resolvePidPath(directive, p.paths.prefix);
  const v = await step(r, p, nginxBuildArgv(), { ...STEP, signal });
  return resolvePidPath(directive, p.paths.prefix, nginxBuild(`${v.stderr}\n${v.stdout}`));
}

type Children = number[] | 'gone' | 'unknown';

/** The master's children, 'gone' when the process is not there, 'unknown' when this kernel cannot list them. */
async function childrenOf(r: CommandRunner, pid: number, signal: AbortSignal): Promise<Children> {
  const res = await r.run(childrenArgv(pid), { ...STEP, signal });
  if (res.exitCode === 0) return parseChildren(res.stdout);
  return (await r.run(processDirArgv(pid), { ...STEP, signal })).exitCode === 0 ? 'unknown' : 'gone';
}

/** The running master, from its pid file; a reload of an nginx that is not running is refused. */
async function runningMaster(r: CommandRunner, p: NginxPlace, pidFile: string, signal: AbortSignal): Promise<{ pid: number; workers: number[] | 'unknown' }> {
  const res = await r.run(catArgv(pidFile), { ...STEP, signal });
  const pid = res.exitCode === 0 ? parsePid(res.stdout) : undefined;
  const workers = pid === undefined ? 'gone' : await childrenOf(r, pid, signal);
  if (pid === undefined || workers === 'gone') {
    const why = pid === undefined ? `its pid file ${pidFile} ${res.exitCode === 0 ? 'holds no pid' : 'cannot be read'}` : `its pid file ${pidFile} names pid ${pid}, which is not running`;
    throw new ToolFailure('target_failed', `nginx is not running in ${where(p)}: ${why}. reload_nginx only reloads a running nginx; nothing was changed.`, { exitCode: res.exitCode });
  }
  return { pid, workers };
}

async function reload(r: CommandRunner, p: NginxPlace, signal: AbortSignal): Promise<void> {
  const res = await step(r, p, nginxReloadArgv(p.paths), { ...STEP, signal });
  if (res.exitCode === 0) return;
  const said = nginxOutput(res.stdout, res.stderr).output;
  throw new ToolFailure('target_failed', `nginx -s reload failed in ${where(p)} (exit ${res.exitCode}); nginx said:\n${said}`, { exitCode: res.exitCode, tail: lastLines(said) });
}

/**
 * Polls (at most SETTLE_MS) until a worker that was not there before runs and every worker that
 * was there has exited; the master must live throughout. A new worker alone is not enough: an old
 * one that has not yet seen its quit signal still accepts connections with the old configuration.
 */
async function awaitNewWorkers(r: CommandRunner, p: NginxPlace, pid: number, before: number[] | 'unknown', signal: AbortSignal): Promise<{ after: number[]; replaced: boolean; known: boolean; lingering: number[] }> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    if (signal.aborted) throw new ToolFailure('unavailable', `reload_nginx in ${where(p)} was cancelled while waiting for new workers; nginx was already signalled to reload`);
    const now = await childrenOf(r, pid, signal);
    if (now === 'gone') {
      throw new ToolFailure('target_failed', `the nginx master (pid ${pid}) in ${where(p)} exited after the reload signal: nginx is down. Its error log says why; it must be started again.`);
    }
    if (now === 'unknown' || before === 'unknown') return { after: now === 'unknown' ? [] : now, replaced: false, known: false, lingering: [] };
    const lingering = before.filter((w) => now.includes(w));
    if (workersReplaced(before, now) && lingering.length === 0) return { after: now, replaced: true, known: true, lingering };
    if (Date.now() >= deadline) return { after: now, replaced: false, known: true, lingering };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export const ReloadNginxOutput = z.object({
  host: z.string(),
  container: z.string().nullable(),
  service: z.string().nullable(),
  pidFile: z.string(),
  masterPid: z.number().int(),
  workersBefore: z.array(z.number().int()),
  workersAfter: z.array(z.number().int()),
  workersReplaced: z.boolean(),
  testOutput: z.string(),
  testTruncated: z.boolean(),
  note: z.string().nullable(),
});
export type ReloadNginxOutput = z.infer<typeof ReloadNginxOutput>;

function noteFor(replaced: boolean, known: boolean, lingering: readonly number[], after: readonly number[], before: readonly number[]): string | null {
  if (replaced) return null;
  if (!known) return 'this kernel does not list a process\'s children (/proc/PID/task/PID/children), so warden could not confirm that new workers started';
  if (lingering.length > 0 && workersReplaced(before, after)) {
    return `new workers started, but old worker(s) ${lingering.join(' ')} were still running after ${SETTLE_MS / 1000} s (finishing long open connections, say): until they exit, some requests may still be served with the old configuration`;
  }
  return `no new worker appeared within ${SETTLE_MS / 1000} s: nginx may have rejected the new configuration while applying it (a port it cannot bind, say) and kept the old one; its error log says why`;
}

/** `nginx -t`, then `nginx -s reload` only when it passed, then proof that the master lived and its workers were replaced. */
export async function testAndReload(p: NginxPlace, ctx: Pick<ToolContext, 'adapters' | 'signal'>): Promise<ReloadNginxOutput> {
  const r = runnerFor(p, ctx);
  const test = await testConfig(r, p, ctx.signal);
  const pidFile = await pidFileOf(r, p, test.dump, ctx.signal);
  const master = await runningMaster(r, p, pidFile, ctx.signal);
  await reload(r, p, ctx.signal);
  const before = Array.isArray(master.workers) ? master.workers : [];
  const settled = await awaitNewWorkers(r, p, master.pid, master.workers, ctx.signal);
  return {
    host: p.host, container: p.container ?? null, service: p.service ?? null, pidFile, masterPid: master.pid,
    workersBefore: before, workersAfter: settled.after, workersReplaced: settled.replaced,
    testOutput: test.output, testTruncated: test.truncated, note: noteFor(settled.replaced, settled.known, settled.lingering, settled.after, before),
  };
}

/** What a dry run reports; a service's paths are read from the inventory only when the call runs. */
export function reloadPlan(input: NginxPlaceInput): string {
  const after = 'only if the test passes, then check that the master lives and new workers start';
  if (input.service !== undefined) return `test and reload the nginx of service ${input.service} (where and which config from its inventory entry): nginx -T (the -t test), then nginx -s reload ${after}`;
  const p = directPlace(input);
  return `run \`${nginxDumpArgv(p.paths).join(' ')}\` (the -t test) in ${where(p)}, then \`${nginxReloadArgv(p.paths).join(' ')}\` ${after}`;
}
