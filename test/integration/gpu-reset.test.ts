// gpu_reset through the real MCP server and guard, against the stand-in nvidia-smi (no GPU on CI):
// locally through the inventory's nvidiaSmiPath, and once over a real sshd on 127.0.0.1.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { createAdapters } from '../../src/adapters/index.js';
import type { HostSpec } from '../../src/adapters/hosts.js';
import { silentLogger } from '../../src/log.js';
import type { Runtime } from '../../src/server/runtime.js';
import { installFakeNvidiaSmi, type FakeNvidiaSmi, type FakeNvidiaSmiOptions } from '../support/nvidia-smi.js';
import { tempDir } from '../support/processes.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const ALLOW = 'rules: [{ name: allow-reset, tool: gpu_reset, decision: allow }]';
const TWO_GPUS: FakeNvidiaSmiOptions = { gpus: [{ utilization: 100, memoryUsed: 12_000 }, { utilization: 100, memoryUsed: 30_000, temperature: 80 }] };

let sshd: Sshd;
let knownHosts: string;
const fakes: FakeNvidiaSmi[] = [];
const open: Array<Linked | Runtime> = [];

beforeAll(async () => {
  sshd = await startSshd();
  knownHosts = join(tempDir('gpu-reset'), 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
});
afterAll(async () => {
  await sshd?.stop();
});
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
  for (const f of fakes.splice(0)) f.remove();
});

function fakeSmi(opts: FakeNvidiaSmiOptions = TWO_GPUS): FakeNvidiaSmi {
  const f = installFakeNvidiaSmi(opts);
  fakes.push(f);
  return f;
}

/** A runtime whose `local` host (and, with remote, an SSH host `gpu-box`) runs the fake nvidia-smi. */
async function setup(smi: FakeNvidiaSmi, policy?: string, remote = false) {
  const hosts: HostSpec[] = [{ name: 'local', nvidiaSmiPath: smi.path }];
  if (remote) {
    hosts.push({ name: 'gpu-box', nvidiaSmiPath: smi.path, ssh: { address: sshd.host, port: sshd.port, user: sshd.user, keyPath: sshd.privateKeyPath, knownHostsPath: knownHosts } });
  }
  const adapters = createAdapters(hosts, silentLogger);
  const rt = testRuntime({ policy, adapters });
  const linked = await linkClient(rt);
  open.push(rt, linked); // the runtime closes the adapters' SSH connections
  return { rt, client: linked.client };
}

const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;
const failure = (r: unknown) => ((r as CallToolResult)._meta?.['warden/failure'] ?? {}) as { kind?: string; approvalId?: string; exitCode?: number; tail?: string };
const resets = (smi: FakeNvidiaSmi): string[][] => smi.calls().filter((argv) => argv.includes('--gpu-reset'));

describe('gpu_reset', () => {
  it('refuses while a compute process runs on that GPU, naming it, and never asks nvidia-smi to reset', async () => {
    const smi = fakeSmi({ ...TWO_GPUS, processes: [{ gpu: 1, pid: 4242, name: '/usr/bin/python3 train.py', usedMemory: 29_000 }, { gpu: 0, pid: 99 }] });
    const { rt, client } = await setup(smi, ALLOW);
    const r = await client.callTool({ name: 'gpu_reset', arguments: { gpu: 1 } });
    expect(failure(r).kind).toBe('target_failed');
    expect(text(r)).toMatch(/GPU 1 on host local is in use by 1 compute process: pid 4242 \/usr\/bin\/python3 train\.py \(29000 MiB\)\. Nothing was reset/);
    expect(text(r)).not.toContain('pid 99');
    expect(resets(smi)).toEqual([]);
    expect(smi.state().gpus[1]!.resets).toBe(0);
    expect(rt.audit.list().map((e) => [e.phase, e.target, e.errorKind ?? null])).toEqual([
      ['requested', 'local/gpu1', null],
      ['failed', 'local/gpu1', 'target_failed'],
    ]);
  });

  it('refuses while a process whose pid nvidia-smi cannot tell ([N/A], inside a container) uses that GPU', async () => {
    const smi = fakeSmi({ ...TWO_GPUS, processes: [{ gpu: 1, pid: '[N/A]', name: '[N/A]', usedMemory: 12_000 }] });
    const { client } = await setup(smi, ALLOW);
    const r = await client.callTool({ name: 'gpu_reset', arguments: { gpu: 1 } });
    expect(failure(r).kind).toBe('target_failed');
    expect(text(r)).toMatch(/GPU 1 on host local is in use by 1 compute process: pid unknown .*\(12000 MiB\)\. Nothing was reset/);
    expect(resets(smi)).toEqual([]);
    expect(smi.state().gpus[1]!.resets).toBe(0);
  });

  it('is held for approval by the default policy, and nothing runs', async () => {
    const smi = fakeSmi();
    const { rt, client } = await setup(smi);
    const r = await client.callTool({ name: 'gpu_reset', arguments: { gpu: 1 } });
    expect(failure(r)).toMatchObject({ kind: 'approval_required', approvalId: expect.stringMatching(/^apr_/) });
    expect(smi.calls()).toEqual([]);
    expect(rt.audit.list()).toMatchObject([{ tool: 'gpu_reset', phase: 'pending', decision: 'approve', risk: 'high', target: 'local/gpu1' }]);
  });

  it('once approved, runs the exact reset argv once and reports the GPU state after it', async () => {
    const smi = fakeSmi();
    const { rt, client } = await setup(smi);
    const args = { gpu: 1 };
    const { approvalId } = failure(await client.callTool({ name: 'gpu_reset', arguments: args }));
    rt.approvals.decide(approvalId!, 'approved', 'alice', null);
    const r = await client.callTool({ name: 'gpu_reset', arguments: { ...args, approvalId } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(resets(smi)).toEqual([['--gpu-reset', '-i', '1']]);
    expect(smi.calls().map((argv) => argv[0]!.split('=')[0])).toEqual(['--query-gpu', '--query-compute-apps', '--gpu-reset', '--query-gpu']);
    expect(smi.state().gpus.map((g) => g.resets)).toEqual([0, 1]);
    expect(r.structuredContent).toMatchObject({
      host: 'local', gpu: 1, reset: true, note: null,
      message: expect.stringMatching(/GPU 00000000:2A:00\.0 was successfully reset/),
      state: { index: 1, utilizationPercent: 0, memoryUsedMiB: 0, temperatureC: 80 },
    });
    expect(text(r)).toMatch(/^local: GPU 1 \(NVIDIA H100 80GB HBM3\) was reset; now 0% util, 0\/81559 MiB/);
  });

  it('refuses a GPU index the host does not have as invalid input, resetting nothing', async () => {
    const smi = fakeSmi();
    const { client } = await setup(smi, ALLOW);
    const r = await client.callTool({ name: 'gpu_reset', arguments: { gpu: 5 } });
    expect(failure(r).kind).toBe('invalid_input');
    expect(text(r)).toMatch(/host local has no GPU 5: .*gpu_status lists its GPUs/);
    expect(resets(smi)).toEqual([]);
  });

  it('refuses an index outside 0-63 before anything runs', async () => {
    const smi = fakeSmi();
    const { client } = await setup(smi, ALLOW);
    const r = await client.callTool({ name: 'gpu_reset', arguments: { gpu: 64 } });
    expect(text(r)).toMatch(/\[invalid_input\].*gpu/);
    expect(smi.calls()).toEqual([]);
  });

  it('reports a board that cannot reset as target_failed with nvidia-smi\'s own words', async () => {
    const smi = fakeSmi({ ...TWO_GPUS, resetExitCode: 3 });
    const { client } = await setup(smi, ALLOW);
    const r = await client.callTool({ name: 'gpu_reset', arguments: { gpu: 0 } });
    expect(failure(r)).toMatchObject({ kind: 'target_failed', exitCode: 3, tail: expect.stringMatching(/Resetting GPU .* is not supported/) });
    expect(resets(smi)).toEqual([['--gpu-reset', '-i', '0']]);
  });

  it('a dry run reports the plan and runs nothing', async () => {
    const smi = fakeSmi();
    const { client } = await setup(smi, 'dryRun: true');
    const r = await client.callTool({ name: 'gpu_reset', arguments: { gpu: 1 } });
    expect(text(r)).toMatch(/dry run: would reset GPU 1 on host local \(nvidia-smi --gpu-reset -i 1\)/);
    expect(smi.calls()).toEqual([]);
  });

  it('resets a GPU on a host reached over SSH', async () => {
    const smi = fakeSmi();
    const { client } = await setup(smi, ALLOW, true);
    const r = await client.callTool({ name: 'gpu_reset', arguments: { host: 'gpu-box', gpu: 0 } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ host: 'gpu-box', gpu: 0, state: { index: 0, memoryUsedMiB: 0 } });
    expect(resets(smi)).toEqual([['--gpu-reset', '-i', '0']]);
  });
});
