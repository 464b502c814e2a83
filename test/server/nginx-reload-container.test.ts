// reload_nginx for nginx inside a container, through the real MCP server and guard. The test dockerd
// has no nginx image and cannot pull one, so the container is a hand-written fake of our own
// DockerAdapter.exec that answers as nginx, cat and test would inside it; it records every argv.
import { describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { CommandResult, RunOptions } from '../../src/adapters/commands.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { linkClient, testRuntime, type TestRuntimeOptions } from '../support/warden.js';

const CONF = '/etc/nginx/nginx.conf';
const res = (exitCode: number, stdout = '', stderr = ''): CommandResult => ({ exitCode, stdout, stderr, truncated: false });

/** nginx in a container: master pid 1 (as in the official image), pid file /var/run/nginx.pid. */
class NginxInContainer {
  readonly calls: string[][] = [];
  configValid = true;
  workers = [29, 30];
  masterAlive = true;
  /** What `nginx -s reload` does to the workers (a real master forks new ones). */
  onReload: () => void = () => { this.workers = this.workers.map((w) => w + 10); };

  exec = async (ref: string, argv: readonly string[], _opts: RunOptions): Promise<CommandResult> => {
    this.calls.push([ref, ...argv]);
    const line = argv.join(' ');
    if (line === `nginx -c ${CONF} -T`) {
      return this.configValid
        ? res(0, `# configuration file ${CONF}:\nuser nginx;\npid /var/run/nginx.pid;\n`, `nginx: the configuration file ${CONF} syntax is ok\nnginx: configuration file ${CONF} test is successful\n`)
        : res(1, '', `nginx: [emerg] unknown directive "no_such_directive" in /etc/nginx/conf.d/default.conf:3\nnginx: configuration file ${CONF} test failed\n`);
    }
    if (line === 'cat /var/run/nginx.pid') return res(0, '1\n');
    if (line === 'cat /proc/1/task/1/children') return this.masterAlive ? res(0, `${this.workers.join(' ')} `) : res(1, '', 'cat: /proc/1/task/1/children: No such file or directory\n');
    if (line === 'test -d /proc/1') return res(this.masterAlive ? 0 : 1);
    if (line === `nginx -c ${CONF} -s reload`) {
      this.onReload();
      return res(0, '', '2026/11/23 10:00:00 [notice] 41#41: signal process started\n');
    }
    return res(127, '', `${argv[0]}: not found\n`);
  };
}

async function reload(box: NginxInContainer, args: Record<string, unknown>, opts: TestRuntimeOptions = {}) {
  const adapters = fakeAdapters(Object.assign(new FakeDocker(), { exec: box.exec }));
  const rt = testRuntime({ adapters, ...opts });
  const linked = await linkClient(rt);
  try {
    const r = (await linked.client.callTool({ name: 'reload_nginx', arguments: args })) as CallToolResult;
    return { r, hostCalls: adapters.runner.calls, audit: rt.audit.list() };
  } finally {
    await linked.close();
    await rt.close();
  }
}

const text = (r: CallToolResult): string => (r.content[0] as { text: string }).text;
const args = { container: 'web-1', confPath: CONF };

describe('reload_nginx inside a container', () => {
  it('tests, reloads and sees new workers, every step through docker exec and none on the host', async () => {
    const box = new NginxInContainer();
    const { r, hostCalls, audit } = await reload(box, args);
    expect(r.isError, text(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({
      host: 'local', container: 'web-1', pidFile: '/var/run/nginx.pid', masterPid: 1,
      workersBefore: [29, 30], workersAfter: [39, 40], workersReplaced: true, note: null,
    });
    expect(box.calls).toEqual([
      ['web-1', 'nginx', '-c', CONF, '-T'],
      ['web-1', 'cat', '/var/run/nginx.pid'],
      ['web-1', 'cat', '/proc/1/task/1/children'],
      ['web-1', 'nginx', '-c', CONF, '-s', 'reload'],
      ['web-1', 'cat', '/proc/1/task/1/children'],
    ]);
    expect(hostCalls).toEqual([]);
    expect(audit.map((e) => e.target)).toEqual(['local/web-1', 'local/web-1']);
  });

  it('refuses a config that fails the test, with nginx\'s words, and never sends the reload', async () => {
    const box = new NginxInContainer();
    box.configValid = false;
    const { r } = await reload(box, args);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^\[target_failed\] nginx -t failed in container web-1 on host local \(exit 1\), so nginx was NOT reloaded/);
    expect(text(r)).toContain('unknown directive "no_such_directive" in /etc/nginx/conf.d/default.conf:3');
    expect(box.calls.map((c) => c.slice(1).join(' '))).toEqual([`nginx -c ${CONF} -T`]);
  });

  it('reaches the container an inventory service names in its nginx entry', async () => {
    const box = new NginxInContainer();
    const inventory = { 'services.yaml': `services:\n  - name: edge\n    host: local\n    nginx: { confPath: ${CONF}, container: web-1 }\n` };
    const { r, audit } = await reload(box, { service: 'edge' }, { inventory });
    expect(r.structuredContent).toMatchObject({ service: 'edge', container: 'web-1', workersReplaced: true });
    // One canonical target however it was named: the container nginx runs in, which the gate
    // still knows as service edge (a service: rule holds).
    expect(audit.map((e) => e.target)).toEqual(['local/web-1', 'local/web-1']);
  });

  it('decides a call by service and the same call by host/container identically', async () => {
    const inventory = { 'services.yaml': `services:\n  - name: edge\n    host: local\n    tier: critical\n    nginx: { confPath: ${CONF}, container: web-1 }\n` };
    const policy = 'rules:\n  - { tool: reload_nginx, service: { tier: critical }, decision: deny }\n';
    const byService = await reload(new NginxInContainer(), { service: 'edge' }, { inventory, policy });
    const byPlace = await reload(new NginxInContainer(), { container: 'web-1', confPath: CONF }, { inventory, policy });
    for (const { r, audit } of [byService, byPlace]) {
      expect(JSON.stringify(r.content)).toMatch(/denied by rules\[0\]/);
      expect(audit.map((e) => [e.target, e.phase])).toEqual([['local/web-1', 'denied']]);
    }
  });

  it('fails as target_failed when the master exits after the reload signal', async () => {
    const box = new NginxInContainer();
    box.onReload = () => { box.masterAlive = false; };
    const { r } = await reload(box, args);
    expect(text(r)).toMatch(/^\[target_failed\] the nginx master \(pid 1\) in container web-1 on host local exited after the reload signal: nginx is down/);
  });

  it('reports workersReplaced=false, and why, when no new worker appears within 10 s', async () => {
    const box = new NginxInContainer();
    box.onReload = () => undefined;
    const { r } = await reload(box, args);
    expect(r.structuredContent).toMatchObject({ workersReplaced: false, workersAfter: [29, 30] });
    expect((r.structuredContent as { note: string }).note).toMatch(/no new worker appeared within 10 s/);
    expect(text(r)).toMatch(/workers NOT replaced/);
  });

  it('does not call a reload done while an old worker still runs beside the new ones: it may still answer with the old config', async () => {
    const box = new NginxInContainer();
    box.onReload = () => { box.workers = [30, 41]; };
    const { r } = await reload(box, args);
    expect(r.structuredContent).toMatchObject({ workersReplaced: false, workersAfter: [30, 41] });
    expect((r.structuredContent as { note: string }).note).toMatch(/old worker\(s\) 30 were still running after 10 s/);
  });

  it('calls a reload done once the new workers run and the old ones are gone', async () => {
    const box = new NginxInContainer();
    box.onReload = () => {
      box.workers = [29, 30, 41];
      setTimeout(() => { box.workers = [41]; }, 300);
    };
    const { r } = await reload(box, args);
    expect(r.structuredContent).toMatchObject({ workersReplaced: true, workersAfter: [41], note: null });
  });

  it('says nginx is missing from the container as invalid input', async () => {
    const box = new NginxInContainer();
    const { r } = await reload(box, { container: 'web-1' });
    expect(text(r)).toMatch(/^\[invalid_input\] nginx is not installed in container web-1 on host local/);
  });
});
