// reload_nginx on a real nginx through the real MCP server and guard (default policy: notify):
// locally, over a real sshd, and through an inventory service whose nginx entry names an SSH host.
// Each test starts its own nginx, so no test sees another's config or workers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { createAdapters } from '../../src/adapters/index.js';
import type { HostSpec, SshSpec } from '../../src/adapters/hosts.js';
import { silentLogger } from '../../src/log.js';
import type { AuditEntry } from '../../src/store/audit.js';
import { nginxConfig, nginxWorkers, startNginx, type Nginx } from '../support/nginx.js';
import { isAlive, runDir, tempDir, waitFor } from '../support/processes.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { linkClient, testRuntime, type TestRuntimeOptions } from '../support/warden.js';

let sshd: Sshd;
let login: SshSpec;
let knownHosts: string;
const nginxes: Nginx[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  knownHosts = join(tempDir('nginx-reload'), 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
  login = { address: sshd.host, port: sshd.port, user: sshd.user, keyPath: sshd.privateKeyPath, knownHostsPath: knownHosts };
});

afterAll(async () => {
  await Promise.all([sshd?.stop(), ...nginxes.map((n) => n.stop())]);
});

async function fresh(): Promise<Nginx> {
  const n = await startNginx();
  nginxes.push(n);
  return n;
}

const V2 = 'location / { return 200 "warden-test v2\\n"; }';
const BROKEN = 'location / { return 200 "warden-test v2\\n"; }\n    no_such_directive on;';
const hosts = (): HostSpec[] => [{ name: 'local' }, { name: 'remote', ssh: login }];

/** One reload_nginx call through a fresh runtime; returns the result and that runtime's audit entries. */
async function reload(args: Record<string, unknown>, opts: TestRuntimeOptions = {}): Promise<{ r: CallToolResult; audit: AuditEntry[] }> {
  // The test nginx instances live in the run's temp dirs: config nginx.allowedDirs lets them be named.
  const rt = testRuntime({ ...(opts.inventory ? {} : { adapters: createAdapters(hosts(), silentLogger) }), config: `nginx:\n  allowedDirs: [${runDir()}]\n`, ...opts });
  const linked = await linkClient(rt);
  try {
    const r = (await linked.client.callTool({ name: 'reload_nginx', arguments: args })) as CallToolResult;
    return { r, audit: rt.audit.list().filter((e) => e.tool === 'reload_nginx') };
  } finally {
    await linked.close();
    await rt.close();
  }
}

interface ReloadOut {
  host: string;
  service: string | null;
  masterPid: number;
  workersBefore: number[];
  workersAfter: number[];
  workersReplaced: boolean;
  testOutput: string;
  note: string | null;
}

const ok = (r: CallToolResult): ReloadOut => {
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  return r.structuredContent as unknown as ReloadOut;
};
const text = (r: CallToolResult): string => (r.content[0] as { text: string }).text;
const body = async (n: Nginx): Promise<string> => (await fetch(n.url)).text();
const paths = (n: Nginx): { prefix: string; confPath: string } => ({ prefix: n.prefix, confPath: n.confPath });
const pidInFile = (n: Nginx): number => Number(readFileSync(n.pidFile, 'utf8').trim());

async function expectReloaded(n: Nginx, out: ReloadOut, before: number[]): Promise<void> {
  expect(out).toMatchObject({ masterPid: n.pid, workersBefore: before, workersReplaced: true, note: null });
  expect(out.workersAfter.some((p) => !before.includes(p))).toBe(true);
  expect(out.testOutput).toMatch(/syntax is ok[\s\S]*test is successful/);
  // Old workers drain their connections and exit; every new connection then meets the new config.
  await waitFor('the new body', async () => (await body(n)) === 'warden-test v2\n', undefined, 5_000);
  expect(pidInFile(n)).toBe(n.pid);
  expect(isAlive(n.pid)).toBe(true);
}

async function expectRefused(n: Nginx, call: { r: CallToolResult; audit: AuditEntry[] }, before: number[]): Promise<void> {
  expect(call.r.isError).toBe(true);
  expect(text(call.r)).toMatch(/^\[target_failed\] nginx -t failed in host \w+ \(exit 1\), so nginx was NOT reloaded/);
  expect(text(call.r)).toMatch(/unknown directive "no_such_directive" in .*nginx\.conf:\d+/);
  expect(await body(n)).toBe('warden-test v1\n');
  expect(pidInFile(n)).toBe(n.pid);
  expect(isAlive(n.pid)).toBe(true);
  expect(nginxWorkers(n.pid)).toEqual(before);
  expect(call.audit.map((e) => [e.phase, e.errorKind])).toEqual([['requested', null], ['failed', 'target_failed']]);
  expect(call.audit[1]!.result).toMatch(/unknown directive "no_such_directive"/);
}

describe('reload_nginx on the local host', () => {
  it('reloads a good new config: the new body is served and the workers are replaced', async () => {
    const n = await fresh();
    const before = nginxWorkers(n.pid);
    n.writeConfig(V2);
    const { r, audit } = await reload(paths(n));
    await expectReloaded(n, ok(r), before);
    expect(audit.map((e) => [e.phase, e.decision, e.target])).toEqual([['requested', 'notify', 'local/nginx'], ['completed', 'notify', 'local/nginx']]);
  });

  it('refuses a config that fails nginx -t, with nginx\'s own words, and keeps serving the old one', async () => {
    const n = await fresh();
    const before = nginxWorkers(n.pid);
    n.writeConfig(BROKEN);
    await expectRefused(n, await reload(paths(n)), before);
  });

  it('refuses to reload an nginx that is not running, changing nothing', async () => {
    const prefix = tempDir('nginx-stopped');
    for (const d of ['logs', 'tmp']) mkdirSync(join(prefix, d));
    writeFileSync(join(prefix, 'nginx.conf'), nginxConfig(prefix, 1, 'location / { return 200 "x"; }'));
    const { r, audit } = await reload({ prefix, confPath: join(prefix, 'nginx.conf') });
    expect(text(r)).toMatch(/^\[target_failed\] nginx is not running in host local: its pid file .*nginx\.pid (cannot be read|holds no pid)\. reload_nginx only reloads a running nginx/);
    expect(audit.at(-1)).toMatchObject({ phase: 'failed', errorKind: 'target_failed' });
  });
});

describe('reload_nginx over SSH', () => {
  it('reloads a good new config on a remote host', async () => {
    const n = await fresh();
    const before = nginxWorkers(n.pid);
    n.writeConfig(V2);
    const out = ok((await reload({ host: 'remote', ...paths(n) })).r);
    expect(out.host).toBe('remote');
    await expectReloaded(n, out, before);
  });

  it('refuses a broken config on a remote host and keeps serving the old one', async () => {
    const n = await fresh();
    const before = nginxWorkers(n.pid);
    n.writeConfig(BROKEN);
    await expectRefused(n, await reload({ host: 'remote', ...paths(n) }), before);
  });

  it('reloads the nginx an inventory service names, on its SSH host', async () => {
    const n = await fresh();
    const before = nginxWorkers(n.pid);
    n.writeConfig(V2);
    const inventory = {
      'hosts.yaml': `hosts:\n  - name: edge-1\n    address: 127.0.0.1\n    ssh: { port: ${sshd.port}, user: ${sshd.user}, keyPath: ${sshd.privateKeyPath}, knownHostsPath: ${knownHosts} }\n`,
      'services.yaml': `services:\n  - name: edge\n    host: edge-1\n    tier: critical\n    nginx: { confPath: ${n.confPath}, prefix: ${n.prefix} }\n`,
    };
    const { r, audit } = await reload({ service: 'edge' }, { inventory });
    const out = ok(r);
    expect(out).toMatchObject({ host: 'edge-1', service: 'edge' });
    await expectReloaded(n, out, before);
    expect(audit.map((e) => e.target)).toEqual(['edge-1/nginx', 'edge-1/nginx']); // canonical: the nginx the service names
  });
});

describe('reload_nginx in a dry run', () => {
  it('reports the plan and reloads nothing', async () => {
    const n = await fresh();
    const before = nginxWorkers(n.pid);
    n.writeConfig(V2);
    const { r, audit } = await reload(paths(n), { policy: 'dryRun: true\n' });
    expect(text(r)).toContain(`[dry_run] dry run: would run \`nginx -p ${n.prefix} -c ${n.confPath} -T\` (the -t test) in host local, then \`nginx -p ${n.prefix} -c ${n.confPath} -s reload\``);
    expect(audit.map((e) => [e.phase, e.dryRun])).toEqual([['requested', true], ['completed', true]]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await body(n)).toBe('warden-test v1\n');
    expect(nginxWorkers(n.pid)).toEqual(before);
  });
});
