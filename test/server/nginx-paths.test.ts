// nginx runs as root: the files it is pointed at (-c) and the prefix it creates directories under
// (-p) come from the inventory or config nginx.allowedDirs, never from a caller. A refused path
// starts no nginx at all.
import type { CallToolResult } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/server/runtime.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';

const open: Array<Linked | Runtime> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const INVENTORY = {
  'services.yaml': 'services:\n  - { name: edge, host: local, nginx: { confPath: /srv/edge/nginx.conf, prefix: /srv/edge } }\n'
    + '  - { name: app, host: local, nginx: { confPath: /app/nginx.conf, container: web-1 } }\n',
};

async function call(name: string, args: Record<string, unknown>, role: 'readonly' | 'operator' = 'readonly') {
  const adapters = fakeAdapters();
  const rt = testRuntime({ adapters, inventory: INVENTORY, policy: 'rules: [{ tool: reload_nginx, decision: allow }]\n' });
  const linked = await linkClient(rt, { principal: 'p', role, transport: 'memory' });
  open.push(rt, linked);
  const r = (await linked.client.callTool({ name, arguments: args })) as CallToolResult;
  return { text: (r.content[0] as { text: string }).text, ran: adapters.runner.calls, audit: rt.audit.list() };
}

describe('nginx paths', () => {
  it.each([
    ['a root-only file', { confPath: '/etc/shadow' }, 'confPath: /etc/shadow'],
    ['a climb out of an allowed directory', { confPath: '/etc/nginx/../shadow' }, 'confPath'],
    ['a doubled slash', { confPath: '/etc/nginx//nginx.conf' }, 'confPath'],
    ['a prefix anywhere', { prefix: '/' }, 'prefix: /'],
    ['a sibling that only starts like an allowed directory', { confPath: '/etc/nginx-evil/nginx.conf' }, 'confPath: /etc/nginx-evil/nginx.conf'],
  ])('nginx_test_config refuses %s, and no nginx starts', async (_what, args, field) => {
    const { text, ran, audit } = await call('nginx_test_config', args);
    expect(text).toMatch(/^\[invalid_input\] /);
    expect(text).toContain(field);
    expect(ran).toEqual([]);
    expect(audit.map((e) => [e.phase, e.errorKind])).toEqual([['failed', 'invalid_input']]);
  });

  it('reload_nginx refuses the same, before anything runs', async () => {
    const { text, ran } = await call('reload_nginx', { confPath: '/root/.ssh/id_rsa' }, 'operator');
    expect(text).toContain('[invalid_input] confPath: /root/.ssh/id_rsa is not one nginx on host local may use');
    expect(ran).toEqual([]);
  });

  it('does not let a path declared for nginx in a container name a file on the host, nor in another container', async () => {
    expect((await call('nginx_test_config', { confPath: '/app/nginx.conf' })).text).toContain('[invalid_input] confPath: /app/nginx.conf is not one nginx on host local may use');
    expect((await call('reload_nginx', { container: 'db', confPath: '/app/nginx.conf' }, 'operator')).text).toContain('[invalid_input] confPath: /app/nginx.conf');
    const inside = await call('reload_nginx', { container: 'web-1', confPath: '/app/nginx.conf' }, 'operator');
    expect(inside.text).not.toContain('is not one nginx');
  });

  it.each([
    ['a file in config nginx.allowedDirs (default /etc/nginx)', { confPath: '/etc/nginx/sites/a.conf' }],
    ['the paths a service on the host declares', { confPath: '/srv/edge/nginx.conf', prefix: '/srv/edge' }],
    ["nginx's own default", {}],
  ])('nginx_test_config runs with %s', async (_what, args) => {
    const { ran } = await call('nginx_test_config', args);
    expect(ran).toHaveLength(1);
    expect(ran[0]![0]).toBe('nginx');
  });
});
