// nginx tools and the fixed argv they run (no shell, ever), with the parsers of nginx's output.
// For nginx_test_config a config that fails the test is an answer (ok: false), not a tool failure.
import { z } from 'zod';
import { ToolFailure } from '../errors.js';
import { redactText } from '../shared/redact.js';
import { HostName, defineTool } from './spec.js';
import type { InventoryReader } from '../store/readers.js';

export const MAX_OUTPUT_CHARS = 4_000;
const NGINX_RUN = { timeoutMs: 30_000, maxOutputBytes: 64 * 1024, readOnly: true };

/** An absolute path of plain characters: no `..` segment, nothing a program could read as an option. */
/**
 * nginx runs as root and reads (and echoes from) whatever -c names, and creates directories under
 * whatever -p names: both must come from the inventory (a service on this host declares them) or
 * lie in a directory config nginx.allowedDirs allows. Anything else is refused, naming the field.
 */
export function confineNginxPaths(host: string, paths: { confPath?: string; prefix?: string }, inventory: InventoryReader, container?: string): void {
  for (const kind of ['confPath', 'prefix'] as const) {
    const path = paths[kind];
    if (path !== undefined && !inventory.nginxPathAllowed(host, kind, path, container)) {
      throw new ToolFailure('invalid_input', `${kind}: ${path} is not one nginx on host ${host} may use: a service's nginx.${kind} in the inventory must name it, or config nginx.allowedDirs must hold its directory`);
    }
  }
}

export const AbsolutePath = z
  .string()
  .max(1024)
  .regex(/^\/[A-Za-z0-9._\/@+,=~-]*$/, 'an absolute path of letters, digits and ._/@+,=~- only')
  .refine((p) => !p.split('/').includes('..'), 'a path without ".." segments');

export interface NginxTarget {
  prefix?: string;
  confPath?: string;
}

/** `-p` / `-c` exactly as the caller gave them; both paths were validated by AbsolutePath. */
export function nginxArgs(t: NginxTarget): string[] {
  return [...(t.prefix ? ['-p', t.prefix] : []), ...(t.confPath ? ['-c', t.confPath] : [])];
}

export const nginxTestArgv = (t: NginxTarget): string[] => ['nginx', ...nginxArgs(t), '-t'];

/** `nginx -T`: the same test as -t (its verdict on stderr), and on success the whole config on stdout. */
export const nginxDumpArgv = (t: NginxTarget): string[] => ['nginx', ...nginxArgs(t), '-T'];

export const nginxReloadArgv = (t: NginxTarget): string[] => ['nginx', ...nginxArgs(t), '-s', 'reload'];

/** `nginx -V`: the paths it was built with (prefix, pid file), on stderr. */
export const nginxBuildArgv = (): string[] => ['nginx', '-V'];

/** Reads one file; the path is always one argument starting with `/`, so never an option. */
export function catArgv(path: string): string[] {
  if (!path.startsWith('/')) throw new ToolFailure('internal', `not an absolute path: ${path}`);
  return ['cat', path];
}

/** The children of a process's main thread: nginx's master forks its workers from there. */
export const childrenArgv = (pid: number): string[] => catArgv(`/proc/${pid}/task/${pid}/children`);

/** Whether a process exists, where /proc/PID/task/PID/children is missing (kernels without CONFIG_PROC_CHILDREN). */
export const processDirArgv = (pid: number): string[] => ['test', '-d', `/proc/${pid}`];

/** The main-context `pid` directive in `nginx -T` output, unquoted; undefined when the config has none. */
export function pidDirective(dump: string): string | undefined {
  // `pid` exists only in the main context, and `-T` prints the main file first.
  const code = dump.split('\n').map((line) => line.replace(/^((?:[^#"']|"[^"]*"|'[^']*')*)#.*$/, '$1')).join('\n');
  const m = /(?:^|[;{}])[ \t]*pid[ \t]+(?:"([^"]+)"|'([^']+)'|([^\s;"']+))[ \t]*;/m.exec(code);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

export interface NginxBuild {
  prefix?: string;
  pidPath?: string;
}

/** `--prefix=` and `--pid-path=` from `nginx -V`. */
export function nginxBuild(versionOutput: string): NginxBuild {
  const arg = (name: string): string | undefined => new RegExp(`(?:^|\\s)--${name}=([^\\s'"]+)`).exec(versionOutput)?.[1];
  const prefix = arg('prefix');
  const pidPath = arg('pid-path');
  return { ...(prefix ? { prefix } : {}), ...(pidPath ? { pidPath } : {}) };
}

/** nginx's own defaults when it was built without --prefix / --pid-path. */
const BUILT_IN = { prefix: '/usr/local/nginx/', pidPath: 'logs/nginx.pid' };

/**
 * The pid file nginx uses, as nginx itself resolves it: the `pid` directive, else the built-in
 * path; a relative one is taken against `-p`, else the built-in prefix. `build` is needed only
 * when `pidFileNeedsBuild` says so.
 */
export function resolvePidPath(directive: string | undefined, prefixArg: string | undefined, build: NginxBuild = {}): string {
  const path = directive ?? build.pidPath ?? BUILT_IN.pidPath;
  if (path.startsWith('/')) return path;
  const prefix = prefixArg ?? build.prefix ?? BUILT_IN.prefix;
  return `${prefix.replace(/\/+$/, '')}/${path}`;
}

/** Whether resolvePidPath needs `nginx -V`: no directive, or a relative one without `-p`. */
export const pidFileNeedsBuild = (directive: string | undefined, prefixArg: string | undefined): boolean =>
  directive === undefined || (!directive.startsWith('/') && prefixArg === undefined);

/** A pid file's content: one positive integer, surrounded by whitespace at most. */
export function parsePid(text: string): number | undefined {
  const t = text.trim();
  return /^[1-9][0-9]{0,9}$/.test(t) ? Number(t) : undefined;
}

/** The space-separated pids of a /proc children file. */
export const parseChildren = (text: string): number[] => text.trim().split(/\s+/).filter((p) => /^[1-9][0-9]*$/.test(p)).map(Number);

/** A reload starts new workers with the new config: at least one child that was not there before. */
export const workersReplaced = (before: readonly number[], after: readonly number[]): boolean => after.some((p) => !before.includes(p));

/** nginx's own words (it writes the test result to stderr), redacted and capped at the head, where [emerg] lines come first. */
export function nginxOutput(stdout: string, stderr: string): { output: string; truncated: boolean } {
  const text = redactText([stderr.trim(), stdout.trim()].filter(Boolean).join('\n'));
  return { output: text.slice(0, MAX_OUTPUT_CHARS), truncated: text.length > MAX_OUTPUT_CHARS };
}

const NginxTestOutput = z.object({
  host: z.string(),
  ok: z.boolean(),
  exitCode: z.number().int(),
  output: z.string(),
  truncated: z.boolean(),
});

export const nginxTestConfig = defineTool({
  name: 'nginx_test_config',
  title: 'Test an nginx configuration',
  description:
    'Runs nginx -t on one host: ok, and nginx\'s message naming the failing directive, file and line; ok=false is not an error. Use it before a reload. ' +
    `confPath/prefix: declared in the inventory or under nginx.allowedDirs. Read-only; output cut at ${MAX_OUTPUT_CHARS} characters.`,
  family: 'nginx',
  risk: 'read',
  input: z.strictObject({
    host: HostName,
    confPath: AbsolutePath.optional().describe('Main config file (nginx -c).'),
    prefix: AbsolutePath.optional().describe('Prefix directory (nginx -p).'),
  }),
  output: NginxTestOutput,
  target: (i) => `${i.host}/nginx`,
  // Confined before anything runs: nginx runs as root and echoes the first word of a file it cannot parse.
  resolve: (i, inventory) => {
    confineNginxPaths(i.host, i, inventory);
    return {};
  },
  async run(input, ctx) {
    const res = await ctx.adapters.commands(input.host).run(nginxTestArgv(input), { ...NGINX_RUN, signal: ctx.signal });
    if (res.exitCode === 127 || res.exitCode === 126) {
      throw new ToolFailure('invalid_input', `nginx is not installed on host ${input.host} (or not runnable from its PATH; the inventory can set nginxPath)`, { exitCode: res.exitCode });
    }
    if (res.signal) {
      throw new ToolFailure('target_failed', `nginx -t on host ${input.host} was killed by ${res.signal}`, { exitCode: res.exitCode });
    }
    return { host: input.host, ok: res.exitCode === 0, exitCode: res.exitCode, ...nginxOutput(res.stdout, res.stderr) };
  },
  summarize: (o) => `${o.host}: nginx configuration ${o.ok ? 'ok' : `FAILED (exit ${o.exitCode}): nginx's message is in output`}`,
});
