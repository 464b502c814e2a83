// Hand-written fakes of our own command-runner, metrics and file interfaces (never a module mock):
// they record every call so a test can prove that a refused call ran nothing on the host.
import type { CommandResult, CommandRunner, RunOptions } from '../../src/adapters/commands.js';
import { checkedMode, checkedPath, type HostFile, type HostFiles, type ReadFileOptions, type WriteFileOptions } from '../../src/adapters/host-files.js';
import type { DiskUsage, HostMetrics, MetricsProbe, PathDiskUsage } from '../../src/adapters/metrics.js';
import { ToolFailure } from '../../src/errors.js';

export class FakeRunner implements CommandRunner {
  readonly host = 'local';
  readonly calls: string[][] = [];
  /** What a call returns; by default every program is missing, as on a bare host. */
  answer: (argv: readonly string[], opts: RunOptions) => CommandResult = (argv) => ({
    exitCode: 127, stdout: '', stderr: `${argv[0]}: not found\n`, truncated: false,
  });

  async run(argv: readonly string[], opts: RunOptions): Promise<CommandResult> {
    this.calls.push([...argv]);
    return this.answer(argv, opts);
  }
}

export class FakeMetrics implements MetricsProbe {
  readonly host = 'local';
  calls = 0;
  metrics: HostMetrics = {
    cpu: { cores: 8, loadAverage: [0.5, 0.4, 0.3], usagePercent: 12.5 },
    memory: { totalBytes: 16 * 2 ** 30, usedBytes: 4 * 2 ** 30, availableBytes: 12 * 2 ** 30 },
    disks: [{ fs: '/dev/sda1', type: 'ext4', mount: '/', sizeBytes: 100 * 2 ** 30, usedBytes: 40 * 2 ** 30, availableBytes: 60 * 2 ** 30, usePercent: 40 }],
    temperatures: [],
    gpus: [],
    notes: [],
  };

  /** What diskUsage reports per path; a path not here does not exist, so it is left out, as the real probes do. */
  pathDisks = new Map<string, DiskUsage>();
  readonly diskUsageCalls: string[][] = [];

  async collect(): Promise<HostMetrics> {
    this.calls += 1;
    return this.metrics;
  }

  async diskUsage(paths: string[]): Promise<PathDiskUsage[]> {
    this.diskUsageCalls.push([...paths]);
    return paths.flatMap((path) => { const d = this.pathDisks.get(path); return d ? [{ ...d, path }] : []; });
  }
}

/** Files in memory, keyed by normalised path; paths and modes are checked as the real adapters check them. */
export class FakeFiles implements HostFiles {
  readonly calls: string[] = [];
  readonly files = new Map<string, HostFile>();
  /** Paths that are symlinks (to the value): read and write refuse them, as the real adapters do. */
  readonly links = new Map<string, string>();
  /** When set, the next write fails with it and changes nothing (a full disk, a refused permission). */
  writeFailure?: ToolFailure;

  constructor(readonly host = 'local', private readonly where = `on host ${host}`) {}

  /** Puts a file in place without recording a call. */
  seed(path: string, content: string | Buffer, mode = 0o644): this {
    this.files.set(checkedPath(path, this.where), { content: Buffer.from(content), mode });
    return this;
  }

  /** The file's text, or undefined when it does not exist. */
  text(path: string): string | undefined {
    return this.files.get(path)?.content.toString('utf8');
  }

  async read(path: string, opts: ReadFileOptions): Promise<HostFile> {
    this.calls.push(`read ${path}`);
    const p = this.usable(path);
    const f = this.files.get(p);
    if (!f) throw new ToolFailure('invalid_input', `no file ${p} ${this.where}`);
    if (f.content.length > opts.maxBytes) throw new ToolFailure('invalid_input', `file ${p} ${this.where} is larger than ${opts.maxBytes} bytes, the most that may be read`);
    return { content: Buffer.from(f.content), mode: f.mode };
  }

  async write(path: string, content: Buffer, opts: WriteFileOptions): Promise<void> {
    this.calls.push(`write ${path}`);
    const p = this.usable(path);
    const mode = checkedMode(opts.mode, this.where);
    const failure = this.writeFailure;
    if (failure) {
      this.writeFailure = undefined;
      throw failure;
    }
    this.files.set(p, { content: Buffer.from(content), mode });
  }

  private usable(path: string): string {
    const p = checkedPath(path, this.where);
    const link = this.links.get(p);
    if (link !== undefined) throw new ToolFailure('invalid_input', `${p} ${this.where} is a symbolic link (to ${JSON.stringify(link)}); name the file it points to instead`);
    return p;
  }
}
