// Plain words for a container's exit code. The one distinction that matters most: exit 137 is a
// SIGKILL, and only State.OOMKilled says the kernel's OOM killer sent it.

const SIGNALS: Record<number, [name: string, meaning: string]> = {
  1: ['SIGHUP', 'hangup'],
  2: ['SIGINT', 'interrupted (Ctrl-C)'],
  3: ['SIGQUIT', 'quit'],
  6: ['SIGABRT', 'aborted (an assertion or abort() in the program)'],
  9: ['SIGKILL', 'killed'],
  11: ['SIGSEGV', 'segmentation fault: the program crashed on a bad memory access'],
  13: ['SIGPIPE', 'broken pipe'],
  15: ['SIGTERM', 'asked to stop (docker stop, the orchestrator, or a process inside the container)'],
};

const CODES: Record<number, string> = {
  0: 'exited normally (success)',
  1: 'generic application error; the log says which',
  2: 'misuse of a shell builtin or bad arguments',
  125: 'Docker could not run the container (daemon error; see the error field)',
  126: 'the command cannot execute (not executable, or permission denied)',
  127: 'the command was not found',
};

export interface ExitFacts {
  status: string;
  running: boolean;
  exitCode: number;
  oomKilled: boolean;
}

export function explainExit({ status, running, exitCode, oomKilled }: ExitFacts): string {
  if (running) return 'still running: there is no exit yet';
  if (status === 'created') return 'created but never started';
  if (exitCode === 137) {
    return oomKilled
      ? '137 = 128+9: killed by the kernel OOM killer (OOMKilled is true): it hit its memory limit'
      : '137 = 128+9: SIGKILL, not proof of an OOM (OOMKilled is false): e.g. docker kill, or a stop that outlived its grace period';
  }
  const base = describeExitCode(exitCode);
  // The OOM killer may have killed a child while the main process exited some other way.
  return oomKilled ? `${base}; OOMKilled is true: the kernel OOM killer killed a process in it` : base;
}

/** The code alone in plain words: `127: the command was not found`, `143 = 128+15: SIGTERM, ...`. */
export function describeExitCode(code: number): string {
  if (CODES[code] !== undefined) return `${code}: ${CODES[code]}`;
  if (code > 128 && code <= 128 + 64) {
    const n = code - 128;
    const sig = SIGNALS[n];
    return sig ? `${code} = 128+${n}: ${sig[0]}, ${sig[1]}` : `${code} = 128+${n}: killed by signal ${n}`;
  }
  return `${code}: an exit code the application defines`;
}
