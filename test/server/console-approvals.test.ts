// The console's Approvals pages: the list and one request with every fact, its exact arguments and,
// for configuration changes, a diff against the target's current state; deciding from the console
// under the signed-in principal, through the same decider as the CLI (own request, not pending and
// readonly refused, nothing decided), CSRF and role checked.
import { describe, expect, it } from 'vitest';
import type { ContainerIdentity, ContainerResources, ReadOptions } from '../../src/adapters/docker-types.js';
import type { ContainerDetails } from '../../src/adapters/docker-view.js';
import { configPreview } from '../../src/server/console/approval-diff.js';
import { canonicalJson, sha256 } from '../../src/store/canonical.js';
import type { Approval, NewApproval } from '../../src/store/approvals.js';
import { signIn } from '../support/console-client.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';
import { useGateways, type TestGateway } from '../support/http-gateway.js';

const gateway = useGateways();
const XSS = '<script>alert(1)</script>';

function hold(g: TestGateway, over: Partial<NewApproval> & { argsValue?: unknown; createdAt?: Date } = {}): Approval {
  const args = canonicalJson(over.argsValue ?? { host: 'local', container: `web-1${XSS}` });
  return g.rt.approvals.create({
    principal: 'agent-bot', tool: 'restart_container', target: `local/web-1${XSS}`, args, argsHash: sha256(args), risk: 'medium',
    rule: 'restart-needs-human', reason: `restarts need a person ${XSS}`, ttlMs: 15 * 60_000, incidentId: 'inc_42', ...over,
  }, over.createdAt);
}

async function operator(g: TestGateway, principal = 'olivia', role: 'operator' | 'admin' | 'readonly' = 'operator') {
  const { client } = await signIn(g.url, g.token(principal, role));
  return client;
}

const detailOf = (id: string): string => `/console/approvals/${id}`;

describe('console approvals: list and detail', () => {
  it('lists pending requests with tool, target, principal, incident, rule and a countdown, escaped', async () => {
    const g = await gateway();
    const a = hold(g);
    const decided = hold(g, { tool: 'stop_container' });
    g.rt.approvals.decide(decided.id, 'denied', 'someone', 'no');
    const client = await operator(g);
    const res = await client.get('/console/approvals');
    expect(res.status).toBe(200);
    const card = new RegExp(`<article class="approval" data-approval-id="${a.id}" data-status="pending">[\\s\\S]*?</article>`).exec(res.body)?.[0];
    expect(card).toBeDefined();
    expect(card).toContain(`href="/console/approvals/${a.id}"`);
    expect(card).toContain('<code class="tool">restart_container</code>');
    expect(card).toContain('local/web-1&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(card).toContain('<dd class="principal">agent-bot</dd>');
    expect(card).toContain('href="/console/incidents/inc_42"');
    expect(card).toContain('restart-needs-human');
    expect(card).toContain(`data-expires-at="${a.expiresAt}"`);
    expect(res.body).not.toContain(XSS);
    const recent = /<div id="recent-approvals">[\s\S]*?<\/div>\n<\/div>/.exec(res.body)![0];
    expect(recent).toContain(`data-approval-id="${decided.id}" data-status="denied"`);
    expect(recent).not.toContain(a.id);
    expect(res.body).toContain('sse-connect="/console/events"');
    const fragment = await client.get('/console/approvals/fragment/list', { 'hx-request': 'true' });
    expect(fragment.body.startsWith('<div id="approvals-live"')).toBe(true);
    expect(fragment.body).toContain(a.id);
  });

  it('shows every fact of a request, its exact arguments pretty-printed and escaped, and the form to an operator', async () => {
    const g = await gateway();
    const a = hold(g, { argsValue: { host: 'local', container: 'web-1', note: `</pre>${XSS}` } });
    const client = await operator(g);
    const res = await client.get(detailOf(a.id));
    expect(res.status).toBe(200);
    for (const fact of [a.id, a.argsHash, 'restart_container', 'agent-bot', 'restart-needs-human', 'medium', a.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')]) {
      expect(res.body, fact).toContain(fact);
    }
    expect(res.body).toContain('restarts need a person &lt;script&gt;alert(1)&lt;/script&gt;');
    const args = /<pre id="approval-args">([\s\S]*?)<\/pre>/.exec(res.body)![1]!;
    expect(args).toBe(JSON.stringify(JSON.parse(a.args), null, 2).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;'));
    expect(res.body).not.toContain(XSS);
    expect(res.body).toContain(`data-expires-at="${a.expiresAt}"`);
    expect(res.body).toMatch(/<form class="decide" method="post" action="\/console\/approvals\/apr_[^"]+\/decide">/);
    expect(res.body).toContain('<textarea name="reason"');
    expect(res.body).toContain('<button type="submit" name="verdict" value="approved">Approve</button>');
    expect(res.body).toContain('<button type="submit" name="verdict" value="denied">Deny</button>');
    expect(res.body).not.toContain('What it would change');
    expect((await client.get('/console/approvals/apr_nope')).status).toBe(404);
    const live = await client.get(`${detailOf(a.id)}/fragment`, { 'hx-request': 'true' });
    expect(live.body.startsWith('<dl class="facts" id="approval-status"')).toBe(true);
  });
});

describe('console approvals: deciding', () => {
  it('approves under the signed-in operator, audited with transport console, and shows the outcome', async () => {
    const g = await gateway();
    const a = hold(g);
    const client = await operator(g);
    await client.get(detailOf(a.id));
    const res = await client.post(`${detailOf(a.id)}/decide`, { verdict: 'approved', reason: `checked the logs ${XSS}` });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${detailOf(a.id)}?decided=approved`);
    expect(g.rt.approvals.get(a.id)).toMatchObject({ status: 'approved', decidedBy: 'olivia', decisionReason: `checked the logs ${XSS}` });
    const entry = g.rt.audit.list({ limit: 50 }).find((e) => e.approvalId === a.id && e.phase === 'approved')!;
    expect(entry).toMatchObject({ principal: 'olivia', transport: 'console', tool: 'restart_container' });
    const after = await client.get(res.headers.get('location')!);
    expect(after.body).toContain('id="decide-outcome"');
    expect(after.body).toContain('Approved by you (olivia)');
    expect(after.body).toContain('checked the logs &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(after.body).not.toContain(XSS);
    expect(after.body).not.toContain('form class="decide"');
  });

  it('denies with a reason', async () => {
    const g = await gateway();
    const a = hold(g);
    const client = await operator(g, 'adam', 'admin');
    await client.get(detailOf(a.id));
    expect((await client.post(`${detailOf(a.id)}/decide`, { verdict: 'denied', reason: 'not at peak hours' })).status).toBe(303);
    expect(g.rt.approvals.get(a.id)).toMatchObject({ status: 'denied', decidedBy: 'adam', decisionReason: 'not at peak hours' });
  });

  it('refuses a bad verdict or an over-long reason with 400 naming the field, deciding nothing', async () => {
    const g = await gateway();
    const a = hold(g);
    const client = await operator(g);
    await client.get(detailOf(a.id));
    const bad = await client.post(`${detailOf(a.id)}/decide`, { verdict: 'APPROVED' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/id="decide-outcome">Nothing was decided: verdict: must be approved or denied/);
    expect((await client.post(`${detailOf(a.id)}/decide`, { reason: 'x' })).status).toBe(400);
    const long = await client.post(`${detailOf(a.id)}/decide`, { verdict: 'approved', reason: 'x'.repeat(1001) });
    expect(long.status).toBe(400);
    expect(long.body).toContain('Nothing was decided: reason:');
    expect(g.rt.approvals.get(a.id)!.status).toBe('pending');
  });

  it('refuses a field given twice and a malformed body with 400, never picking one of the values', async () => {
    const g = await gateway();
    const a = hold(g);
    const client = await operator(g);
    await client.get(detailOf(a.id));
    const csrf = encodeURIComponent(client.csrf()!);
    const form = 'application/x-www-form-urlencoded';
    // The approve button and a forged deny in one post: neither verdict is taken. The CSRF check
    // reads the form first (its token in the body) and refuses it there; with the token in a header
    // the handler does, on the page.
    const twice = await client.postRaw(`${detailOf(a.id)}/decide`, `_csrf=${csrf}&verdict=denied&verdict=approved`, form);
    expect([twice.status, twice.body]).toEqual([400, 'verdict: given 2 times; give it once']);
    const onPage = await client.postRaw(`${detailOf(a.id)}/decide`, 'verdict=denied&verdict=approved', form, { 'x-csrf-token': client.csrf()! });
    expect(onPage.status).toBe(400);
    expect(onPage.body).toContain('Nothing was decided: verdict: given 2 times; give it once');
    const reasons = await client.postRaw(`${detailOf(a.id)}/decide`, `_csrf=${csrf}&verdict=approved&reason=a&reason=b`, form, { 'x-csrf-token': client.csrf()! });
    expect(reasons.status).toBe(400);
    expect(reasons.body).toContain('Nothing was decided: reason: given 2 times; give it once');
    // Twice in the body for the CSRF check itself: refused before anything else.
    expect((await client.postRaw(`${detailOf(a.id)}/decide`, `_csrf=${csrf}&_csrf=${csrf}&verdict=approved`, form)).status).toBe(400);
    const broken = await client.postRaw(`${detailOf(a.id)}/decide`, 'not multipart at all', 'multipart/form-data; boundary=XYZ', { 'x-csrf-token': client.csrf()! });
    expect(broken.status).toBe(400);
    expect(broken.body).toContain('Nothing was decided: malformed form body');
    expect(g.rt.approvals.get(a.id)!.status).toBe('pending');
  });

  it('shows a readonly viewer no form and refuses its post with 403, leaving the request pending', async () => {
    const g = await gateway();
    const a = hold(g);
    const client = await operator(g, 'rita', 'readonly');
    const page = await client.get(detailOf(a.id));
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('form class="decide"');
    expect(page.body).toContain('id="decide-readonly"');
    expect((await client.post(`${detailOf(a.id)}/decide`, { verdict: 'approved' })).status).toBe(403);
    expect(g.rt.approvals.get(a.id)!.status).toBe('pending');
    expect(g.rt.audit.list({ limit: 50 }).some((e) => e.tool === 'http.auth' && e.principal === 'rita')).toBe(true);
  });

  it('refuses a post without the CSRF token, with a wrong one or from another site', async () => {
    const g = await gateway();
    const a = hold(g);
    const client = await operator(g);
    await client.get(detailOf(a.id));
    const path = `${detailOf(a.id)}/decide`;
    expect((await client.post(path, { verdict: 'approved', _csrf: '' })).status).toBe(403);
    expect((await client.post(path, { verdict: 'approved', _csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await client.post(path, { verdict: 'approved' }, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(g.rt.approvals.get(a.id)!.status).toBe('pending');
  });

  it('refuses the requester approving their own request from the console', async () => {
    const g = await gateway();
    const a = hold(g, { principal: 'olivia' });
    const client = await operator(g, 'olivia');
    const page = await client.get(detailOf(a.id));
    expect(page.body).toContain('another person must approve it');
    const res = await client.post(`${detailOf(a.id)}/decide`, { verdict: 'approved' });
    expect(res.status).toBe(403);
    expect(res.body).toContain('Nothing was decided: olivia requested');
    expect(g.rt.approvals.get(a.id)!.status).toBe('pending');
  });

  it('refuses deciding an expired or an already decided request with the reason, changing nothing', async () => {
    const g = await gateway();
    const expired = hold(g, { ttlMs: 60_000, createdAt: new Date(Date.now() - 120_000) });
    const done = hold(g);
    g.rt.approvals.decide(done.id, 'denied', 'someone', 'no');
    const client = await operator(g);
    await client.get(detailOf(expired.id));
    const late = await client.post(`${detailOf(expired.id)}/decide`, { verdict: 'approved' });
    expect(late.status).toBe(409);
    expect(late.body).toContain(`Nothing was decided: approval ${expired.id} is expired`);
    expect(g.rt.approvals.get(expired.id)!.decidedBy).toBeNull();
    const again = await client.post(`${detailOf(done.id)}/decide`, { verdict: 'approved' });
    expect(again.status).toBe(409);
    expect(again.body).toContain('is denied');
    expect(g.rt.approvals.get(done.id)).toMatchObject({ status: 'denied', decidedBy: 'someone' });
    expect((await client.post('/console/approvals/apr_nope/decide', { verdict: 'approved' })).status).toBe(404);
  });
});

describe('console approvals: configuration diffs', () => {
  it('diffs new resource limits against the container\'s current ones, read without changing them', async () => {
    const docker = new FakeDocker();
    docker.resourceLimits['web-1'] = { memoryBytes: 256 * 1024 ** 2, memorySwapBytes: 512 * 1024 ** 2, nanoCpus: 1e9, pidsLimit: 100 };
    const g = await gateway.custom({ adapters: fakeAdapters(docker) });
    const a = hold(g, { tool: 'update_container_resources', target: 'local/web-1', argsValue: { host: 'local', container: 'web-1', memory: '512m', verifySeconds: 5 } });
    const client = await operator(g);
    const res = await client.get(detailOf(a.id));
    const diff = /<pre id="config-diff">([\s\S]*?)<\/pre>/.exec(res.body)![1]!;
    expect(diff).toContain('<span class="diff-del">-memory: 256MiB</span>');
    expect(diff).toContain('<span class="diff-add">+memory: 512MiB</span>');
    expect(diff).toContain('<span class="diff-add">+memory+swap: 768MiB</span>');
    expect(diff).toContain(' cpus: 1');
    expect(docker.calls.filter((c) => c.startsWith('update'))).toEqual([]);
  });

  it('shows only the nginx directive whose address changes, at its line', async () => {
    const adapters = fakeAdapters();
    const conf = 'events {}\nhttp {\n  proxy_set_header Authorization "Basic c2VjcmV0";\n  upstream app { server 10.0.0.1:8080; }\n  server { location / { proxy_pass http://app; } }\n}\n';
    adapters.hostFiles.seed('/etc/nginx/nginx.conf', conf);
    const g = await gateway.custom({
      adapters,
      inventory: { 'site.yaml': 'services:\n  - name: site\n    host: local\n    healthCheck: { http: "http://127.0.0.1:1/", status: 200 }\n    nginx:\n      confPath: /etc/nginx/nginx.conf\n      backends: ["10.0.0.1:8080", "10.0.0.2:8080"]\n' },
    });
    const a = hold(g, { tool: 'nginx_set_upstream', target: 'local/nginx', argsValue: { service: 'site', server: '10.0.0.2:8080', verifySeconds: 5 } });
    const client = await operator(g);
    const res = await client.get(detailOf(a.id));
    const diff = /<pre id="config-diff">([\s\S]*?)<\/pre>/.exec(res.body)?.[1];
    expect(diff, res.body).toBeDefined();
    expect(diff).toContain('@@ -4,1 +4,1 @@');
    expect(diff).toContain('<span class="diff-del">-server 10.0.0.1:8080;</span>');
    expect(diff).toContain('<span class="diff-add">+server 10.0.0.2:8080;</span>');
    expect(res.body).not.toContain('c2VjcmV0');
    expect(adapters.hostFiles.text('/etc/nginx/nginx.conf')).toBe(conf);
  });

  it('names the env variables an image or env change touches, never their values', async () => {
    const g = await gateway();
    const a = hold(g, { tool: 'update_container_config', target: 'local/web-1', argsValue: { host: 'local', container: 'web-1', image: 'nginx:1.27', env: { set: { PATH: 's3cr3t-value', API_KEY: 'k3y' }, unset: [] } } });
    const client = await operator(g);
    const res = await client.get(detailOf(a.id));
    const diff = /<pre id="config-diff">([\s\S]*?)<\/pre>/.exec(res.body)![1]!;
    expect(diff).toContain('<span class="diff-del">-image: nginx</span>');
    expect(diff).toContain('<span class="diff-add">+image: nginx:1.27</span>');
    expect(diff).toContain('<span class="diff-add">+env PATH: set to a new value (not shown)</span>');
    expect(diff).toContain('<span class="diff-add">+env API_KEY: set (value not shown)</span>');
    expect(diff).not.toMatch(/s3cr3t|k3y/);
  });

  it('shows the limits a rollback of a resources change would restore, from the change journal', async () => {
    const g = await gateway();
    const limits = (mib: number): Buffer => Buffer.from(JSON.stringify({ memoryBytes: mib * 1024 ** 2, memorySwapBytes: -1, nanoCpus: 0, pidsLimit: null }));
    const change = await g.rt.changes.begin({
      callId: 'call-1', principal: 'agent-bot', incidentId: null, target: 'local/web-1', service: null, kind: 'container_resources',
      summary: 'local/web-1: more memory', beforeRef: g.rt.changes.save(limits(256)), plan: {},
    });
    await g.rt.changes.update(change.id, { status: 'verified', afterRef: g.rt.changes.save(limits(512)) });
    const a = hold(g, { tool: 'rollback_change', target: 'local/web-1', argsValue: { changeId: change.id } });
    const client = await operator(g);
    const diff = /<pre id="config-diff">([\s\S]*?)<\/pre>/.exec((await client.get(detailOf(a.id))).body)![1]!;
    expect(diff).toContain('<span class="diff-del">-memory: 512MiB</span>');
    expect(diff).toContain('<span class="diff-add">+memory: 256MiB</span>');
  });

  it('says so when a configuration change cannot be previewed, and shows no diff for other tools', async () => {
    const g = await gateway();
    const a = hold(g, { tool: 'update_container_resources', target: 'local/ghost', argsValue: { host: 'local', container: 'ghost', memory: '512m', verifySeconds: 5 } });
    const client = await operator(g);
    const res = await client.get(detailOf(a.id));
    expect(res.body).toContain('id="config-diff-unavailable">No diff: the current state could not be read: no container');
    expect(res.body).not.toContain('id="config-diff"');
  });
});

/** Two services behind one nginx.conf, each naming its own upstream block. */
const SHARED_CONF = 'events {}\nhttp {\n  upstream shop_up { server 10.0.0.1:8080; }\n  upstream billing_up { server 10.9.9.1:9090; }\n  server { location / { proxy_pass http://shop_up; } }\n}\n';
const SHARED_INVENTORY = {
  'site.yaml': [
    'services:',
    '  - name: shop', '    host: local', '    healthCheck: { http: "http://127.0.0.1:1/", status: 200 }',
    '    nginx: { confPath: /etc/nginx/nginx.conf, upstream: shop_up, backends: ["10.0.0.1:8080", "10.0.0.2:8080"] }',
    '  - name: billing', '    host: local', '    healthCheck: { http: "http://127.0.0.1:2/", status: 200 }',
    '    nginx: { confPath: /etc/nginx/nginx.conf, upstream: billing_up, backends: ["10.9.9.1:9090"] }',
    '',
  ].join('\n'),
};

describe('console approvals: a diff of a change the tool would refuse', () => {
  async function sharedNginx() {
    const adapters = fakeAdapters();
    adapters.hostFiles.seed('/etc/nginx/nginx.conf', SHARED_CONF);
    return gateway.custom({ adapters, inventory: SHARED_INVENTORY });
  }

  it('shows no diff of another service\'s upstream when the args name one the inventory does not give this service', async () => {
    const g = await sharedNginx();
    // A hostile model asks to point shop at one of its backends but names billing's block: the tool
    // refuses; the page must not tell the deciding human that billing's 10.9.9.1:9090 is what changes.
    const a = hold(g, { tool: 'nginx_set_upstream', target: 'local/nginx', argsValue: { service: 'shop', server: '10.0.0.2:8080', upstream: 'billing_up', verifySeconds: 5 } });
    const res = await (await operator(g)).get(detailOf(a.id));
    expect(res.status).toBe(200);
    expect(res.body).not.toContain('id="config-diff"');
    expect(res.body).not.toContain('10.9.9.1:9090');
    expect(res.body).toContain('id="config-diff-unavailable">No diff: the tool would refuse this call: upstream: service &quot;shop&quot; proxies to upstream &quot;shop_up&quot;');
  });

  it('says the tool would refuse a backend that is not one of the service\'s nginx.backends', async () => {
    const g = await sharedNginx();
    const a = hold(g, { tool: 'nginx_set_upstream', target: 'local/nginx', argsValue: { service: 'shop', server: '203.0.113.66:80', verifySeconds: 5 } });
    const res = await (await operator(g)).get(detailOf(a.id));
    expect(res.body).not.toContain('id="config-diff"');
    expect(res.body).toContain('No diff: the tool would refuse this call: server: 203.0.113.66:80 is not one of service &quot;shop&quot;&#39;s nginx.backends (10.0.0.1:8080, 10.0.0.2:8080)');
  });

  it('still diffs the service\'s own upstream for an allowed backend', async () => {
    const g = await sharedNginx();
    const a = hold(g, { tool: 'nginx_set_upstream', target: 'local/nginx', argsValue: { service: 'shop', server: '10.0.0.2:8080', verifySeconds: 5 } });
    const diff = /<pre id="config-diff">([\s\S]*?)<\/pre>/.exec((await (await operator(g)).get(detailOf(a.id))).body)?.[1] ?? '';
    expect(diff).toContain('<span class="diff-del">-server 10.0.0.1:8080;</span>');
    expect(diff).toContain('<span class="diff-add">+server 10.0.0.2:8080;</span>');
    expect(diff).not.toContain('10.9.9.1');
  });
});

/** A Docker whose reads never answer until their signal aborts; records each read's signal. */
class StuckDocker extends FakeDocker {
  readonly signals: Array<AbortSignal | undefined> = [];
  private stuck<T>(opts?: ReadOptions): Promise<T> {
    this.signals.push(opts?.signal);
    return new Promise<T>((_, reject) => opts?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  }
  override resolveContainer(_ref: string, opts?: ReadOptions): Promise<ContainerIdentity> { return this.stuck(opts); }
  override inspectContainer(_ref: string, opts?: ReadOptions): Promise<ContainerDetails> { return this.stuck(opts); }
  override resources(_ref: string, opts?: ReadOptions): Promise<ContainerResources> { return this.stuck(opts); }
}

describe('console approvals: a preview past its deadline', () => {
  it('aborts the Docker reads it started, for resources and config changes alike', async () => {
    const docker = new StuckDocker();
    const g = await gateway.custom({ adapters: fakeAdapters(docker) });
    for (const [tool, argsValue] of [
      ['update_container_resources', { host: 'local', container: 'web-1', memory: '512m', verifySeconds: 5 }],
      ['update_container_config', { host: 'local', container: 'web-1', image: 'nginx:1.27' }],
    ] as const) {
      const a = hold(g, { tool, target: 'local/web-1', argsValue });
      const before = docker.signals.length;
      expect(await configPreview(g.rt, a, 50)).toEqual({ kind: 'unavailable', why: 'reading the current state took over 50 ms; reload to try again' });
      const used = docker.signals.slice(before);
      expect(used.length, tool).toBeGreaterThan(0);
      // Each read got the preview's signal, aborted at the deadline: nothing reads on for nobody.
      for (const s of used) expect(s?.aborted, tool).toBe(true);
    }
  });
});
