// Runs a fixed program on the machine warden runs on. Never through a shell: argv goes straight to
// the kernel, so no argument can become a second command.
import { spawn } from 'node:child_process';
import { ToolFailure } from '../errors.js';
import { CappedOutput, boundRun } from './capped-output.js';
import type { CommandResult, CommandRunner, RunOptions } from './commands.js';

// spawn with shell:false rather than execFile: execFile kills the child once output passes
// maxBuffer, losing its exit code; CappedOutput keeps the head and lets the program finish.
export function localCommandRunner(host = 'local'): CommandRunner {
  return {
    host,
    run: (argv, opts) => runLocal(host, argv, opts),
  };
}

function runLocal(host: string, argv: readonly string[], opts: RunOptions): Promise<CommandResult> {
  const [program, ...args] = argv;
  if (!program) return Promise.reject(new ToolFailure('internal', 'empty argv'));
  return new Promise((resolve, reject) => {
    const out = new CappedOutput(opts.maxOutputBytes);
    // The process environment is inherited (PATH finds nvidia-smi, nginx); opts.env only adds to it.
    const child = spawn(program, args, {
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : undefined,
    });
    const { finish } = boundRun(opts, { host, program }, () => child.kill('SIGKILL'), reject);

    child.stdout.on('data', (b: Buffer) => out.push('stdout', b));
    child.stderr.on('data', (b: Buffer) => out.push('stderr', b));
    child.once('error', (err: NodeJS.ErrnoException) => {
      // A missing or unexecutable program reads as a shell would report it (127 / 126), so callers
      // treat "not installed" the same way locally and over SSH.
      const code = err.code === 'ENOENT' ? 127 : err.code === 'EACCES' ? 126 : undefined;
      if (code === undefined) {
        finish(() => reject(new ToolFailure('unavailable', `could not start ${program} on host ${host} (${err.code ?? 'error'})`, {}, err)));
        return;
      }
      const said = code === 127 ? 'not found' : 'permission denied';
      finish(() => resolve({ exitCode: code, stdout: '', stderr: `${program}: ${said}\n`, truncated: false }));
    });
    child.once('close', (code, signal) => finish(() => resolve(out.result(code, signal))));
  });
}
