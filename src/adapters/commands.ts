// Running a fixed program on a host: argv only, never a shell string built from input. Local
// commands use execFile; remote ones go over SSH with every argument quoted (src/adapters/ssh.ts).

export interface CommandResult {
  exitCode: number;
  /** Set when a signal ended the process. */
  signal?: string;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was cut at maxOutputBytes. */
  truncated: boolean;
}

export interface RunOptions {
  timeoutMs: number;
  maxOutputBytes?: number;
  signal?: AbortSignal;
  /** Extra environment for local runs (PATH lookups of nvidia-smi, say). */
  env?: Record<string, string>;
  /**
   * Only for commands that change nothing (the metrics probe): over SSH, a channel that closes
   * before the command reported its exit is run once more instead of failing the call.
   */
  readOnly?: boolean;
}

export interface CommandRunner {
  readonly host: string;
  /**
   * True over SSH, where a timeout only closes the channel and the remote program may run on
   * (see ssh.ts): callers that must bound a remote program wrap it in `timeout` themselves.
   */
  readonly remote?: boolean;
  run(argv: readonly string[], opts: RunOptions): Promise<CommandResult>;
}
