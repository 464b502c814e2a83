// Configuration changes on a real nginx through the real MCP server and guard: nginx_set_upstream
// as a transaction (verified, or rolled back and the rollback checked), rollback_change, and a
// reload_nginx that restores the last config that served well. Backends are HTTP servers on loopback.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Runtime } from '../../src/server/runtime.js';
import { deadAddress, httpGet, startBackend, type Backend } from '../support/backends.js';
import { startNginx, type Nginx } from '../support/nginx.js';
import { waitFor } from '../support/processes.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const backends: Backend[] = [];
const nginxes: Nginx[] = [];
const open: Array<{ rt: Runtime; linked: Linked }> = [];

afterEach(async () => {
  for (const { rt, linked } of open.splice(0)) {
    await linked.close();
    await rt.close();
  }
});

afterAll(async () => {
  await Promise.all([...nginxes.map((n) => n.stop()), ...backends.map((b) => b.close())]);
});

async function backend(status: number, body: string): Promise<Backend> {
  const b = await startBackend(status, body);
  backends.push(b);
  return b;
}

const PROXY = 'location / { proxy_pass http://app; proxy_connect_timeout 2s; }';
const upstream = (address: string): string => `  upstream app {\n    server ${address} max_fails=0; # the app\n  }`;

interface Site {
  nginx: Nginx;
  rt: Runtime;
  call(tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult>;
  body(): Promise<{ status: number; text: string }>;
}

/** nginx proxying service "site" to `address`, a runtime whose inventory declares it, and a client. */
async function site(address: string, opts: { backends?: string[]; files?: string[]; policy?: string; upstream?: string; neighbour?: boolean } = {}): Promise<Site> {
  // Every backend these tests start is allowed unless a test says which.
  const allowed = opts.backends ?? backends.map((b) => b.address);
  const nginx = await startNginx();
  nginxes.push(nginx);
  nginx.writeConfig(PROXY, upstream(address));
  await nginx.reload();
  const nginxEntry = [`confPath: ${nginx.confPath}`, `prefix: ${nginx.prefix}`, `backends: [${allowed.join(', ')}]`, ...(opts.files ? [`files: [${opts.files.join(', ')}]`] : []), ...(opts.upstream ? [`upstream: ${opts.upstream}`] : [])];
  // Another service fronted by the same nginx config: "the only upstream" may then be its.
  const neighbour = opts.neighbour ? `  - name: shop\n    host: local\n    nginx: { confPath: ${nginx.confPath}, prefix: ${nginx.prefix} }\n` : '';
  const rt = testRuntime({
    inventory: { 'site.yaml': `services:\n  - name: site\n    host: local\n    healthCheck: { http: "${nginx.url}", status: 200, keyword: "app ok" }\n    nginx:\n${nginxEntry.map((l) => `      ${l}`).join('\n')}\n${neighbour}` },
    policy: opts.policy ?? 'rules:\n  - { tool: [nginx_set_upstream, rollback_change, reload_nginx], decision: allow }\n',
  });
  const linked = await linkClient(rt);
  open.push({ rt, linked });
  return {
    nginx, rt,
    call: async (tool, args, signal) => (await linked.client.callTool({ name: tool, arguments: args }, signal ? { signal } : {})) as CallToolResult,
    body: () => httpGet(nginx.url),
  };
}

const text = (r: CallToolResult): string => (r.content[0] as { text: string }).text;
const out = <T>(r: CallToolResult): T => {
  expect(r.isError, text(r)).toBeFalsy();
  return r.structuredContent as T;
};

describe('nginx_set_upstream', () => {
  it('points a 502ing site at the right backend: nginx -t, reload, the health check held, the change recorded verified', async () => {
    const good = await backend(200, 'app ok\n');
    const s = await site(await deadAddress());
    const before = readFileSync(s.nginx.confPath, 'utf8');
    expect((await s.body()).status).toBe(502);
    const r = out<{ changeId: string; status: string; from: string; to: string; verification: string }>(await s.call('nginx_set_upstream', { service: 'site', server: good.address, verifySeconds: 2 }));
    expect(r).toMatchObject({ status: 'verified', to: good.address });
    expect(r.verification).toMatch(/answered 200 with "app ok".*held for 2 s/);
    expect(await s.body()).toEqual({ status: 200, text: 'app ok\n' });
    // Only the address bytes changed.
    expect(readFileSync(s.nginx.confPath, 'utf8')).toBe(before.replace(r.from, good.address));
    const change = s.rt.changes.get(r.changeId)!;
    expect(change).toMatchObject({ status: 'verified', kind: 'nginx_files', target: 'local/nginx', service: 'site', principal: 'local' });
    expect(s.rt.changes.load(change.beforeRef).toString()).toContain(Buffer.from(before).toString('base64'));
    const entries = s.rt.audit.list().filter((e) => e.callId === change.callId).map((e) => e.phase);
    expect(entries).toEqual(['requested', 'completed']);
    // The audit holds the change's summary, never the saved config.
    expect(JSON.stringify(s.rt.audit.list())).not.toContain(Buffer.from(before).toString('base64').slice(0, 40));
  });

  it('rolls a wrong fix back by itself: the probe fails, the old file returns, the site answers as before, and the call says so', async () => {
    const wrong = await backend(500, 'wrong app\n');
    const s = await site(await deadAddress());
    const before = readFileSync(s.nginx.confPath, 'utf8');
    const r = await s.call('nginx_set_upstream', { service: 'site', server: wrong.address, verifySeconds: 2 });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/failed its check: .*answered 500.*ROLLED BACK automatically/s);
    expect(readFileSync(s.nginx.confPath, 'utf8')).toBe(before);
    expect((await s.body()).status).toBe(502);
    const [change] = s.rt.changes.list({ limit: 5 });
    expect(change).toMatchObject({ status: 'rolled_back', rollback: expect.stringMatching(/restored 1 file.*serves as before the change/) });
  });

  it('refuses a backend the inventory does not allow, before anything is read or written', async () => {
    const s = await site(await deadAddress(), { backends: ['127.0.0.1:1'] });
    const before = readFileSync(s.nginx.confPath, 'utf8');
    const r = await s.call('nginx_set_upstream', { service: 'site', server: '127.0.0.1:2' });
    expect(text(r)).toMatch(/^\[invalid_input\] server: 127\.0\.0\.1:2 is not one of service "site"'s nginx\.backends/);
    const outside = await s.call('nginx_set_upstream', { service: 'site', server: '10.1.2.3:80' });
    expect(text(outside)).toMatch(/invalid_input/);
    expect(readFileSync(s.nginx.confPath, 'utf8')).toBe(before);
    expect(s.rt.changes.list({ limit: 5 })).toEqual([]);
  });

  it('refuses every backend for a service whose inventory lists none: no default reaches loopback ports', async () => {
    const s = await site(await deadAddress(), { backends: [] });
    expect(text(await s.call('nginx_set_upstream', { service: 'site', server: '127.0.0.1:8420' }))).toMatch(/lists no nginx\.backends in the inventory/);
  });

  it('refuses to guess which upstream is the service\'s when another service shares its nginx config, until the inventory names it', async () => {
    const good = await backend(200, 'app ok\n');
    const shared = await site(await deadAddress(), { neighbour: true });
    expect(text(await shared.call('nginx_set_upstream', { service: 'site', server: good.address }))).toMatch(/services site, shop share one nginx config.*set nginx\.upstream/);
    const named = await site(await deadAddress(), { neighbour: true, upstream: 'app' });
    expect(out<{ status: string }>(await named.call('nginx_set_upstream', { service: 'site', server: good.address, verifySeconds: 1 })).status).toBe('verified');
  });

  it('keeps every byte outside the address as it was, bytes that are not UTF-8 included', async () => {
    const good = await backend(200, 'app ok\n');
    const s = await site(await deadAddress());
    const latin1 = Buffer.concat([Buffer.from(readFileSync(s.nginx.confPath)), Buffer.from([0x23, 0x20, 0xe9, 0x74, 0xe9, 0x0a])]);
    writeFileSync(s.nginx.confPath, latin1);
    const r = out<{ from: string }>(await s.call('nginx_set_upstream', { service: 'site', server: good.address, verifySeconds: 1 }));
    const want = Buffer.from(latin1.toString('latin1').replace(r.from, good.address), 'latin1');
    expect(readFileSync(s.nginx.confPath).equals(want)).toBe(true);
  });

  it('never touches a file the inventory does not declare for the service: an upstream in an undeclared include is not found', async () => {
    const good = await backend(200, 'app ok\n');
    const s = await site(await deadAddress());
    const include = join(s.nginx.prefix, 'app-upstream.conf');
    writeFileSync(include, upstream(await deadAddress()).replace('app', 'app2'));
    s.nginx.writeConfig('location / { proxy_pass http://app2; }', `  include ${include};`);
    await s.nginx.reload();
    const r = await s.call('nginx_set_upstream', { service: 'site', server: good.address, upstream: 'app2' });
    expect(text(r)).toMatch(/^\[invalid_input\] service "site": .*app2/);
    expect(readFileSync(include, 'utf8')).toContain('server 127.0.0.1');
    expect(readFileSync(include, 'utf8')).not.toContain(good.address);
  });
});

describe('a cancelled change', () => {
  it('rolls back when the client cancels during the check, and the audit records that end, not "cancelled"', async () => {
    const good = await backend(200, 'app ok\n');
    const s = await site(await deadAddress());
    const before = readFileSync(s.nginx.confPath, 'utf8');
    const cancel = new AbortController();
    const call = s.call('nginx_set_upstream', { service: 'site', server: good.address, verifySeconds: 60 }, cancel.signal).catch((err: unknown) => err);
    await waitFor('the change to be verifying', async () => s.rt.changes.list({ limit: 1 })[0]?.status === 'verifying');
    cancel.abort();
    await call;
    await waitFor('the change to end', async () => !['verifying', 'rolling_back'].includes(s.rt.changes.list({ limit: 1 })[0]?.status ?? ''));
    const [change] = s.rt.changes.list({ limit: 1 });
    expect(change).toMatchObject({ status: 'rolled_back', verification: expect.stringMatching(/^cancelled after \d+ passing checks/) });
    expect(readFileSync(s.nginx.confPath, 'utf8')).toBe(before);
    await waitFor('the outcome entry', async () => s.rt.audit.list().some((e) => e.callId === change!.callId && e.phase !== 'requested'));
    const outcome = s.rt.audit.list().find((e) => e.callId === change!.callId && e.phase !== 'requested')!;
    expect(outcome).toMatchObject({ phase: 'failed', result: expect.stringMatching(/ROLLED BACK automatically/) });
  });
});

describe('rollback_change', () => {
  it('puts a verified change back and checks it; a second rollback of it is refused', async () => {
    const good = await backend(200, 'app ok\n');
    const old = await backend(200, 'app ok (old)\n');
    const s = await site(old.address);
    const before = readFileSync(s.nginx.confPath, 'utf8');
    const { changeId } = out<{ changeId: string }>(await s.call('nginx_set_upstream', { service: 'site', server: good.address, verifySeconds: 1 }));
    expect((await s.body()).text).toBe('app ok\n');
    const r = out<{ status: string; rollback: string }>(await s.call('rollback_change', { changeId, reason: 'the new backend is for tomorrow' }));
    expect(r).toMatchObject({ status: 'rolled_back', rollback: expect.stringMatching(/restored 1 file/) });
    expect(readFileSync(s.nginx.confPath, 'utf8')).toBe(before);
    expect((await s.body()).text).toBe('app ok (old)\n');
    expect(s.rt.changes.get(changeId)!.calls).toHaveLength(2);
    expect(text(await s.call('rollback_change', { changeId }))).toMatch(/^\[invalid_input\] change .* was already rolled back/);
  });

  it('refuses to roll back a change whose files were edited by hand since: it would overwrite that edit', async () => {
    const [a, b] = [await backend(200, 'app ok a\n'), await backend(200, 'app ok b\n')];
    const s = await site(a.address);
    const { changeId } = out<{ changeId: string }>(await s.call('nginx_set_upstream', { service: 'site', server: b.address, verifySeconds: 1 }));
    const edited = `${readFileSync(s.nginx.confPath, 'utf8')}# tuned by hand\n`;
    writeFileSync(s.nginx.confPath, edited);
    expect(text(await s.call('rollback_change', { changeId }))).toMatch(/^\[target_failed\] the nginx files of local\/nginx were changed since change/);
    expect(readFileSync(s.nginx.confPath, 'utf8')).toBe(edited);
    expect(s.rt.changes.get(changeId)!.status).toBe('verified');
  });

  it('refuses to roll back a change while a later change on the same target is in effect', async () => {
    const [a, b, c] = [await backend(200, 'app ok a\n'), await backend(200, 'app ok b\n'), await backend(200, 'app ok c\n')];
    const s = await site(a.address);
    const first = out<{ changeId: string }>(await s.call('nginx_set_upstream', { service: 'site', server: b.address, verifySeconds: 1 }));
    const second = out<{ changeId: string }>(await s.call('nginx_set_upstream', { service: 'site', server: c.address, verifySeconds: 1 }));
    expect(text(await s.call('rollback_change', { changeId: first.changeId }))).toMatch(new RegExp(`${second.changeId} .* came after .*roll that back first`));
    expect((await s.body()).text).toBe('app ok c\n');
  });
});

describe('reload_nginx of a service with a health check', () => {
  /** A site that served well through a change, then edited by hand to a dead backend (it passes nginx -t). */
  async function brokenByHand() {
    const good = await backend(200, 'app ok\n');
    const s = await site(await deadAddress());
    out(await s.call('nginx_set_upstream', { service: 'site', server: good.address, verifySeconds: 1 }));
    const served = readFileSync(s.nginx.confPath, 'utf8');
    writeFileSync(s.nginx.confPath, served.replace(good.address, await deadAddress()));
    return { s, served };
  }

  it('restores and reloads the last config that served well when the reloaded one fails the check', async () => {
    const { s, served } = await brokenByHand();
    const r = await s.call('reload_nginx', { service: 'site', verifySeconds: 2 });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/failed its check: .*answered 502.*ROLLED BACK/s);
    expect(readFileSync(s.nginx.confPath, 'utf8')).toBe(served);
    expect(await s.body()).toEqual({ status: 200, text: 'app ok\n' });
  });

  it('checks a reload named by host and config path the same way: the spelling does not skip the check', async () => {
    const { s, served } = await brokenByHand();
    const r = await s.call('reload_nginx', { host: 'local', confPath: s.nginx.confPath, prefix: s.nginx.prefix, verifySeconds: 1 });
    expect(text(r)).toMatch(/failed its check: .*ROLLED BACK/s);
    expect(readFileSync(s.nginx.confPath, 'utf8')).toBe(served);
  });

  it('records a reload that keeps serving as a verified change', async () => {
    const good = await backend(200, 'app ok\n');
    const s = await site(good.address);
    const r = out<{ changeId: string | null; check: string | null; workersReplaced: boolean }>(await s.call('reload_nginx', { service: 'site', verifySeconds: 1 }));
    expect(r).toMatchObject({ workersReplaced: true, check: expect.stringMatching(/answered 200/) });
    expect(s.rt.changes.get(r.changeId!)).toMatchObject({ status: 'verified', kind: 'nginx_files' });
  });
});
