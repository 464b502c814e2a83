// Hosts reached for real: the local machine, and the same machine as a remote host through a real
// sshd on 127.0.0.1, whose Docker is the test dockerd's socket forwarded over that SSH connection.
// host_metrics, list_containers, gpu_status (stand-in nvidia-smi) and nginx_test_config (real nginx)
// go through the real MCP server and guard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { createAdapters } from '../../src/adapters/index.js';
import type { HostSpec, SshSpec } from '../../src/adapters/hosts.js';
import { silentLogger } from '../../src/log.js';
import { createContainer } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { nginxConfig, startNginx, type Nginx } from '../support/nginx.js';
import { installFakeNvidiaSmi, type FakeNvidiaSmi } from '../support/nvidia-smi.js';
import { runDir, tempDir } from '../support/processes.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { linkClient, testRuntime } from '../support/warden.js';

let sshd: Sshd;
let dockerd: Dockerd;
let nginx: Nginx;
let gpus: FakeNvidiaSmi;
let noGpus: FakeNvidiaSmi;
let login: SshSpec;
let brokenConf: string;

beforeAll(async () => {
  [sshd, dockerd, nginx] = await Promise.all([startSshd(), startDockerd(), startNginx()]);
  await createContainer(dockerd, 'web');
  gpus = installFakeNvidiaSmi({
    gpus: [{ utilization: 97, memoryUsed: 40_000, temperature: 71, powerDraw: 612.5 }, { name: 'NVIDIA A100-SXM4-80GB', powerDraw: null }],
    processes: [{ gpu: 0, pid: 4242, name: '/usr/bin/python3', usedMemory: 39_500 }],
  });
  noGpus = installFakeNvidiaSmi({ gpus: [] });
  const dir = tempDir('remote-host');
  writeFileSync(join(dir, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  login = { address: sshd.host, port: sshd.port, user: sshd.user, keyPath: sshd.privateKeyPath, knownHostsPath: join(dir, 'known_hosts') };
  brokenConf = join(nginx.prefix, 'broken.conf');
  writeFileSync(brokenConf, nginxConfig(nginx.prefix, nginx.port, 'no_such_directive on;'));
});

afterAll(async () => {
  gpus?.remove();
  noGpus?.remove();
  await Promise.all([sshd?.stop(), dockerd?.stop(), nginx?.stop()]);
});

/** One call through a fresh runtime whose adapters know exactly `hosts`. */
async function call(hosts: HostSpec[], name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const rt = testRuntime({ adapters: createAdapters(hosts, silentLogger), config: `nginx:\n  allowedDirs: [${runDir()}]\n` });
  const linked = await linkClient(rt);
  try {
    return (await linked.client.callTool({ name, arguments: args })) as CallToolResult;
  } finally {
    await linked.close();
    await rt.close();
  }
}

const ok = <T>(r: CallToolResult): T => {
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  return r.structuredContent as T;
};
const local = (extra: Partial<HostSpec> = {}): HostSpec => ({ name: 'local', docker: { kind: 'url', url: dockerd.dockerHost }, ...extra });
const remote = (extra: Partial<HostSpec> = {}): HostSpec => ({ name: 'remote', ssh: login, docker: { kind: 'ssh', socketPath: dockerd.socketPath }, ...extra });

interface Metrics {
  cpu: { cores: number; loadAverage: number[]; usagePercent: number | null };
  memory: { totalBytes: number; usedBytes: number; availableBytes: number };
  disks: Array<{ mount: string; sizeBytes: number }>;
}

describe('host_metrics', () => {
  it('reads CPU, memory and disks of the local machine', async () => {
    const m = ok<Metrics>(await call([local()], 'host_metrics', {}));
    expect(m.cpu.cores).toBe(cpus().length);
    expect(m.cpu.loadAverage).toHaveLength(3);
    expect(m.memory.totalBytes).toBe(totalmem());
    expect(m.memory.usedBytes + m.memory.availableBytes).toBe(m.memory.totalBytes);
    expect(m.disks.some((d) => d.mount === '/' && d.sizeBytes > 0)).toBe(true);
  });

  it('reads the same machine over SSH through the fixed probe', async () => {
    const m = ok<Metrics>(await call([local(), remote()], 'host_metrics', { host: 'remote' }));
    expect(m.cpu.cores).toBe(cpus().length);
    expect(m.cpu.usagePercent).toBeGreaterThanOrEqual(0);
    expect(m.memory.totalBytes).toBe(totalmem());
    expect(m.disks.some((d) => d.mount === '/' && d.sizeBytes > 0)).toBe(true);
  });

  it('refuses an unknown host, naming the known ones', async () => {
    const r = await call([local(), remote()], 'host_metrics', { host: 'nowhere' });
    expect(r.isError).toBe(true);
    expect((r.content[0] as { text: string }).text).toMatch(/invalid_input.*unknown host "nowhere".*local, remote/);
  });
});

describe('Docker over SSH', () => {
  it('lists the containers of a remote dockerd through the SSH connection', async () => {
    const out = ok<{ host: string; containers: Array<{ name: string; state: string }> }>(
      await call([local(), remote()], 'list_containers', { host: 'remote' }),
    );
    expect(out.host).toBe('remote');
    expect(out.containers).toContainEqual(expect.objectContaining({ name: 'web', state: 'running' }));
  });

  it('reports an unreachable remote socket as unavailable, naming host and step', async () => {
    const r = await call([remote({ docker: { kind: 'ssh', socketPath: '/nonexistent/docker.sock' } })], 'list_containers', { host: 'remote' });
    expect(r.isError).toBe(true);
    expect((r.content[0] as { text: string }).text).toMatch(/unavailable.*remote.*Docker socket/);
  });
});

interface GpuOut {
  gpus: Array<{ index: number; name: string; utilizationPercent: number | null; powerDrawW: number | null; processes: Array<{ pid: number; name: string }> }>;
  note?: string;
}

describe('gpu_status', () => {
  it('reports GPUs and their compute processes from the local nvidia-smi', async () => {
    const before = gpus.calls().length;
    const out = ok<GpuOut>(await call([local({ nvidiaSmiPath: gpus.path })], 'gpu_status', {}));
    expect(out.gpus.map((g) => [g.index, g.name, g.utilizationPercent, g.powerDrawW])).toEqual([
      [0, 'NVIDIA H100 80GB HBM3', 97, 612.5],
      [1, 'NVIDIA A100-SXM4-80GB', 0, null],
    ]);
    expect(out.gpus[0]!.processes).toEqual([{ pid: 4242, name: '/usr/bin/python3', usedMemoryMiB: 39_500 }]);
    expect(out.gpus[1]!.processes).toEqual([]);
    expect(gpus.calls().slice(before).map((argv) => argv[0]!.split('=')[0])).toEqual(['--query-gpu', '--query-compute-apps']);
  });

  it('reports the same GPUs over SSH', async () => {
    const out = ok<GpuOut>(await call([remote({ nvidiaSmiPath: gpus.path })], 'gpu_status', { host: 'remote' }));
    expect(out.gpus.map((g) => g.index)).toEqual([0, 1]);
    expect(out.gpus[0]!.processes.map((p) => p.pid)).toEqual([4242]);
  });

  it('returns no GPUs and a note when nvidia-smi finds no driver', async () => {
    const out = ok<GpuOut>(await call([remote({ nvidiaSmiPath: noGpus.path })], 'gpu_status', { host: 'remote' }));
    expect(out.gpus).toEqual([]);
    expect(out.note).toMatch(/no NVIDIA GPU found on host remote: .*driver/);
  });

  it('returns no GPUs and a note when nvidia-smi is not installed locally', async () => {
    const out = ok<GpuOut>(await call([local({ nvidiaSmiPath: '/nonexistent/nvidia-smi' })], 'gpu_status', {}));
    expect(out).toMatchObject({ gpus: [], note: expect.stringMatching(/not installed/) });
  });

  it('returns no GPUs and a note when nvidia-smi is not installed on a remote host', async () => {
    const out = ok<GpuOut>(await call([remote({ nvidiaSmiPath: '/nonexistent/nvidia-smi' })], 'gpu_status', { host: 'remote' }));
    expect(out).toMatchObject({ gpus: [], note: expect.stringMatching(/not installed/) });
  });
});

interface NginxOut { ok: boolean; exitCode: number; output: string }

describe('nginx_test_config', () => {
  it('passes the running test nginx configuration locally', async () => {
    const out = ok<NginxOut>(await call([local()], 'nginx_test_config', { prefix: nginx.prefix, confPath: nginx.confPath }));
    expect(out).toMatchObject({ ok: true, exitCode: 0 });
    expect(out.output).toMatch(/syntax is ok[\s\S]*test is successful/);
  });

  it('passes it over SSH too', async () => {
    const out = ok<NginxOut>(await call([remote()], 'nginx_test_config', { host: 'remote', prefix: nginx.prefix, confPath: nginx.confPath }));
    expect(out).toMatchObject({ ok: true, exitCode: 0 });
  });

  it('reports a broken configuration as ok=false with nginx\'s own message, not as a failure', async () => {
    const out = ok<NginxOut>(await call([remote()], 'nginx_test_config', { host: 'remote', prefix: nginx.prefix, confPath: brokenConf }));
    expect(out).toMatchObject({ ok: false, exitCode: 1 });
    expect(out.output).toMatch(/unknown directive "no_such_directive" in .*broken\.conf:\d+/);
    expect(out.output).toMatch(/test failed/);
  });

  it('reports a broken configuration locally the same way', async () => {
    const out = ok<NginxOut>(await call([local()], 'nginx_test_config', { prefix: nginx.prefix, confPath: brokenConf }));
    expect(out).toMatchObject({ ok: false, exitCode: 1 });
  });

  it('refuses a relative config path before anything runs', async () => {
    const r = await call([local()], 'nginx_test_config', { confPath: 'nginx.conf' });
    expect(r.isError).toBe(true);
    expect((r.content[0] as { text: string }).text).toMatch(/invalid_input.*confPath/);
  });
});
