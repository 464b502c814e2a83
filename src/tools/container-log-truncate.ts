// truncate_container_log: empties one container's Docker json-file log on its host, the recovery
// for a disk that one container's output filled. It never truncates a path other than exactly that
// container's own `<id>-json.log`, whatever Docker's inspect says its LogPath is.
import { z } from 'zod';
import type { CommandResult, CommandRunner } from '../adapters/commands.js';
import { ToolFailure } from '../errors.js';
import { redactText } from '../shared/redact.js';
import { bareName } from '../shared/containers.js';
import { remoteTimeoutArgv } from './runbook-argv.js';
import { ContainerRef, HostName, defineTool } from './spec.js';

const STAT_SECONDS = 15;
const TRUNCATE_SECONDS = 30;
/** Over SSH the remote `timeout` fires first, so an overrun reports exit 137 rather than a lost channel. */
const REMOTE_GRACE_MS = 5_000;
const TAIL_LINES = 10;
const FULL_ID = /^[0-9a-f]{64}$/;
/** Docker never writes these in a path; a LogPath holding them is forged, and could reshape a message. */
const CONTROL = /[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/;

export const HISTORY_NOTE = '`docker logs` (and container_logs) no longer show anything the container printed before this call; ' +
  'rotated files beside it (-json.log.1 and on) were left as they were';

/**
 * `stat` of the log: its type and size ("regular file 2097152"). stat does not follow a symlink,
 * truncate would: only a regular file is emptied. "--" so no path can pass for an option.
 */
export function logSizeArgv(path: string): string[] {
  return ['stat', '-c', '%F %s', '--', path];
}

/** The size from logSizeArgv's output, or undefined when it is not a regular file's. */
export function regularFileSize(stdout: string): number | undefined {
  const m = /^regular (?:empty )?file (\d+)$/.exec(stdout.trim());
  const size = Number(m?.[1]);
  return m && Number.isSafeInteger(size) ? size : undefined;
}

/** Empties the file in place: Docker keeps it open and goes on appending, so it must not be deleted. */
export function truncateLogArgv(path: string): string[] {
  return ['truncate', '-s', '0', '--', path];
}

export interface LogFacts {
  /** The container's name, for messages. */
  name: string;
  /** Its full 64-hex ID, from resolving the name: what LogPath must be built from. */
  fullId: string;
  logDriver: string;
  logPath: string;
}

const invalid = (message: string): ToolFailure => new ToolFailure('invalid_input', message);

/**
 * The LogPath warden may truncate: only `/<anything>/containers/<fullId>/<fullId>-json.log` of a
 * json-file container, with no empty, "." or ".." segment, so a forged or odd LogPath (another
 * directory, another container's file, a climb out of Docker's store) names nothing else. Each
 * refusal is invalid_input naming Docker's field.
 */
export function checkedLogPath(c: LogFacts): string {
  if (!FULL_ID.test(c.fullId)) throw new ToolFailure('internal', `container ${c.name} has no full 64-hex ID`);
  if (c.logDriver !== 'json-file') {
    throw invalid(`HostConfig.LogConfig.Type: container ${c.name} logs with the ${JSON.stringify(c.logDriver.slice(0, 40))} driver, not json-file, ` +
      'so Docker keeps no log file of it that warden may empty; free space elsewhere (clean_disk, docker_prune)');
  }
  const shown = JSON.stringify(c.logPath.slice(0, 300));
  const expected = `<dir>/containers/${c.fullId}/${c.fullId}-json.log`;
  if (c.logPath === '') throw invalid(`LogPath: container ${c.name} has none yet (Docker sets it when the container first starts), so there is no log file to empty`);
  if (!c.logPath.startsWith('/')) throw invalid(`LogPath: ${shown} of container ${c.name} is not an absolute path; warden truncates only ${expected}`);
  if (CONTROL.test(c.logPath)) throw invalid(`LogPath: ${shown} of container ${c.name} holds control characters; warden truncates only ${expected}`);
  const segments = c.logPath.slice(1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(`LogPath: ${shown} of container ${c.name} has an empty, "." or ".." segment; warden truncates only ${expected}`);
  }
  const [dir, id, file] = segments.slice(-3);
  if (dir !== 'containers' || id !== c.fullId || file !== `${c.fullId}-json.log`) {
    throw invalid(`LogPath: ${shown} of container ${c.name} is not its own log file ${expected}; nothing was truncated`);
  }
  return c.logPath;
}

const TruncateInput = z.strictObject({ host: HostName, container: ContainerRef });

const TruncateOutput = z.object({
  host: z.string(),
  container: z.string(),
  logPath: z.string(),
  bytesFreed: z.number().int(),
  note: z.string(),
});
type TruncateOutput = z.infer<typeof TruncateOutput>;

/** On SSH hosts behind `timeout -s KILL`, since closing the channel would not stop the program. */
function bounded(runner: CommandRunner, argv: string[], seconds: number, signal: AbortSignal): Promise<CommandResult> {
  const executed = runner.remote ? remoteTimeoutArgv(argv, seconds) : argv;
  return runner.run(executed, { timeoutMs: seconds * 1000 + (runner.remote ? REMOTE_GRACE_MS : 0), maxOutputBytes: 64 * 1024, signal });
}

function commandFailure(step: string, host: string, path: string, res: CommandResult, after: string): ToolFailure {
  const lines = res.stderr.split('\n').filter((l) => l.trim() !== '');
  const tail = redactText(lines.slice(-TAIL_LINES).join('\n')).slice(-2_000);
  const why = res.exitCode === 127 ? ` (${step} is not installed there)` : res.exitCode === 137 ? ' (killed: it ran too long)' : '';
  const last = tail.split('\n').at(-1) ?? '';
  return new ToolFailure('target_failed', `${step} of ${path} on host ${host} exited ${res.exitCode}${why}${last ? `: ${last.slice(0, 400)}` : ''}; ${after}`, { exitCode: res.exitCode, tail });
}

export const truncateContainerLog = defineTool({
  name: 'truncate_container_log',
  title: "Empty a container's Docker log file",
  description:
    'Empties one container\'s json-file Docker log in place when it filled a disk; the container keeps running. Cleanup places: prefer clean_disk. ' +
    'Its docker logs history is lost for good: read it first if it is evidence. Other log drivers refused.',
  family: 'docker',
  risk: 'medium',
  effect: 'remove',
  input: TruncateInput,
  output: TruncateOutput,
  target: (i) => `${i.host}/${bareName(i.container)}`,
  plan: (i) => `empty the Docker json-file log of container ${i.container} on host ${i.host} (its LogPath from inspect, only when it is that container's own ` +
    `containers/<id>/<id>-json.log), running ${JSON.stringify(logSizeArgv('LOGPATH'))} then ${JSON.stringify(truncateLogArgv('LOGPATH'))}; its docker logs history would be lost`,
  async run(input, ctx) {
    const docker = ctx.adapters.docker(input.host);
    // Inspected by full ID, so the LogPath checked below belongs to the container that ID names.
    const { id: fullId, name } = await docker.resolveContainer(input.container);
    const d = await docker.inspectContainer(fullId);
    const path = checkedLogPath({ name, fullId, logDriver: d.logDriver, logPath: d.logPath });
    const runner = ctx.adapters.commands(input.host);
    const stat = await bounded(runner, logSizeArgv(path), STAT_SECONDS, ctx.signal);
    if (stat.exitCode !== 0) throw commandFailure('stat', input.host, path, stat, 'nothing was truncated');
    const size = regularFileSize(stat.stdout);
    if (size === undefined) {
      throw new ToolFailure('target_failed', `${path} on host ${input.host} is not a regular file (stat: ${JSON.stringify(stat.stdout.trim().slice(0, 80))}); nothing was truncated`);
    }
    const res = await bounded(runner, truncateLogArgv(path), TRUNCATE_SECONDS, ctx.signal);
    if (res.exitCode !== 0) throw commandFailure('truncate', input.host, path, res, res.exitCode === 137 ? 'whether the log was emptied is unknown' : 'the log was not emptied');
    ctx.log.info({ host: input.host, container: name, logPath: path, bytesFreed: size }, 'truncate_container_log emptied');
    return { host: input.host, container: name, logPath: path, bytesFreed: size, note: HISTORY_NOTE };
  },
  summarize: summarizeTruncate,
});

const mib = (b: number): string => `${Math.round((b / 2 ** 20) * 10) / 10} MiB`;

export function summarizeTruncate(o: TruncateOutput): string {
  return `${o.host}/${o.container}: emptied its Docker log, ${mib(o.bytesFreed)} freed; its earlier history is gone (see note)`;
}
