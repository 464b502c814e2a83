// A fixed program run inside a container through Docker's exec API: argv only, never a shell
// string; output demultiplexed and capped per stream, the exit code from exec inspect.
import type Docker from 'dockerode';
import { ToolFailure } from '../errors.js';
import { CappedOutput } from './capped-output.js';
import type { CommandResult, RunOptions } from './commands.js';
import type { DockerRequests } from './docker-failure.js';
import { FrameDecoder } from './docker-logs.js';

/** Exec inspect may still say Running for a moment after the output stream has ended. */
const EXIT_POLLS = 20;
const EXIT_POLL_MS = 50;

export interface ExecTarget {
  docker: Docker;
  host: string;
  ref: string;
  /**
   * This exec's requests (create, start, inspect): only a failure of the create may say nothing
   * reached Docker; once the create has, the start may have run the program.
   */
  requests: DockerRequests;
}

export async function runExec(t: ExecTarget, argv: readonly string[], opts: RunOptions): Promise<CommandResult> {
  if (argv.length === 0) throw new ToolFailure('internal', 'empty argv');
  // One signal for both the caller's cancel and our timeout, so the HTTP request is torn down either way.
  // Aborting ends only our read: Docker has no API to kill an exec'd process, so on timeout the
  // program keeps running inside the container until it ends by itself.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
  const stopped = (): ToolFailure => new ToolFailure('unavailable', deadline.signal.aborted
    ? `${argv[0]} in container ${t.ref} on host ${t.host} timed out after ${opts.timeoutMs} ms; it may still be running inside the container`
    : `${argv[0]} in container ${t.ref} on host ${t.host} was cancelled; it may still be running inside the container`);
  try {
    let exec: Docker.Exec;
    const failCreate = t.requests.begin('exec create');
    try {
      exec = await t.docker.getContainer(t.ref).exec({
        Cmd: [...argv],
        AttachStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Env: opts.env ? Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) : undefined,
        abortSignal: signal,
      });
    } catch (err) {
      throw signal.aborted ? stopped() : failCreate(err);
    }
    const out = new CappedOutput(opts.maxOutputBytes);
    const failStart = t.requests.begin('exec start');
    try {
      const stream = (await exec.start({ Detach: false, Tty: false, abortSignal: signal })) as AsyncIterable<Buffer>;
      const decoder = new FrameDecoder();
      // Read to the end even past the cap: the stream ends only when the program does.
      for await (const chunk of stream) {
        for (const frame of decoder.push(chunk)) out.push(frame.stream, frame.data);
      }
    } catch (err) {
      throw signal.aborted ? stopped() : failStart(err);
    }
    if (signal.aborted) throw stopped();
    return { exitCode: await exitCodeOf(t, exec, signal), stdout: out.text('stdout'), stderr: out.text('stderr'), truncated: out.truncated };
  } finally {
    clearTimeout(timer);
  }
}

async function exitCodeOf(t: ExecTarget, exec: Docker.Exec, signal: AbortSignal): Promise<number> {
  for (let i = 0; i < EXIT_POLLS; i++) {
    const info: Docker.ExecInspectInfo = await t.requests.send('exec inspect', () => exec.inspect({ abortSignal: signal }));
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    await new Promise((r) => setTimeout(r, EXIT_POLL_MS));
  }
  throw new ToolFailure('unavailable', `${t.ref} on host ${t.host}: the exec ended its output but Docker reported no exit code; retry later`);
}
