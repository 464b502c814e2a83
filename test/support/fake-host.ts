// Hand-written fakes of our own command-runner and metrics interfaces (never a module mock): they
// record every call so a test can prove that a refused call ran nothing on the host.
import type { CommandResult, CommandRunner, RunOptions } from '../../src/adapters/commands.js';
import type { HostMetrics, MetricsProbe } from '../../src/adapters/metrics.js';

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

  async collect(): Promise<HostMetrics> {
    this.calls += 1;
    return this.metrics;
  }
}
