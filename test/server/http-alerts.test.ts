// POST /alerts/<source> over real HTTP on loopback: who may post, what a bad payload is told, and
// that every payload lands in alert_payloads and every alert in an incident.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { silentLogger } from '../../src/log.js';
import { grafanaSignature } from '../../src/loop/alerts/grafana-signature.js';
import { LOOP_DEFAULTS } from '../../src/loop/config.js';
import { IDLE_QUEUE, Intake } from '../../src/loop/intake.js';
import type { Incident } from '../../src/shared/incidents.js';
import { openDb } from '../../src/store/db.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { InventoryStore } from '../../src/store/inventory.js';
import { tempDir } from '../support/processes.js';
import { EXAMPLE_INVENTORY } from '../support/inventory.js';
import { request, useGateways, type TestGateway } from '../support/http-gateway.js';

const gateway = useGateways();
const STARTS = '2026-11-23T09:59:00Z';

const PAYLOADS = {
  alertmanager: {
    version: '4', groupKey: '{}:{alertname="WebDown"}', status: 'firing', receiver: 'warden',
    alerts: [{ status: 'firing', labels: { alertname: 'WebDown', container: 'web-1', host: 'local', severity: 'critical' }, annotations: { summary: 'web-1 is down' }, startsAt: STARTS }],
  },
  grafana: {
    status: 'firing', orgId: 1, title: '[FIRING:1] DbSlow',
    alerts: [{ status: 'firing', labels: { alertname: 'DbSlow', service: 'db' }, annotations: { summary: 'db queries are slow' }, startsAt: STARTS }],
  },
  'uptime-kuma': {
    msg: '[web-2] [DOWN] timeout', heartbeat: { monitorID: 7, status: 0, msg: 'timeout of 48000ms exceeded', time: '2026-11-23 09:59:00' },
    monitor: { id: 7, name: 'web-2', type: 'http', url: 'http://127.0.0.1:8082/healthz' },
  },
  generic: { summary: 'disk almost full on lb', host: 'local', container: 'lb', severity: 'warning' },
} as const;
const TARGETS = { alertmanager: 'local/web-1', grafana: 'local/db', 'uptime-kuma': 'local/web-2', generic: 'local/lb' };
type Format = keyof typeof PAYLOADS;

async function setup(opts: Parameters<typeof gateway.custom>[0] = {}): Promise<{ g: TestGateway; store: IncidentStore; token: string }> {
  const g = await gateway.custom({ inventory: EXAMPLE_INVENTORY, ...opts });
  return { g, store: new IncidentStore(g.rt.db), token: g.token('monitor', 'alerts') };
}

const post = (g: TestGateway, format: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
  request(g.url, `/alerts/${format}`, { token, body, headers });

describe('POST /alerts/<source>', () => {
  it.each(Object.keys(PAYLOADS) as Format[])('accepts a %s payload with 202, opens an incident on its target and records the payload', async (format) => {
    const { g, store, token } = await setup();
    const r = await post(g, format, token, PAYLOADS[format]);
    expect(r.status).toBe(202);
    const ids = r.json().incidents as string[];
    expect(ids).toHaveLength(1);
    expect(store.get(ids[0]!)).toMatchObject({ status: 'open', source: format, target: TARGETS[format], alertCount: 1 });
    expect(store.payloads()).toEqual([expect.objectContaining({ source: format, outcome: 'accepted', incidentIds: ids, body: JSON.stringify(PAYLOADS[format]) })]);
  });

  it('answers 400 naming the field that is wrong, and records the payload as rejected', async () => {
    const { g, store, token } = await setup();
    const bad = { ...PAYLOADS.alertmanager, alerts: [{ ...PAYLOADS.alertmanager.alerts[0], status: 'burning' }] };
    const r = await post(g, 'alertmanager', token, bad);
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({ error: 'bad_request', reason: expect.stringMatching(/alerts\[0\]\.status: /) });
    expect(store.payloads()).toEqual([expect.objectContaining({ outcome: 'rejected', reason: r.json().reason, body: JSON.stringify(bad) })]);
    expect(store.list()).toEqual([]);
  });

  it('answers 400 to a body that is not JSON, and records it as sent', async () => {
    const { g, store, token } = await setup();
    const r = await post(g, 'generic', token, '{"summary": "half');
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ error: 'bad_request', reason: expect.stringMatching(/^body: not valid JSON/) });
    expect(store.payloads()[0]).toMatchObject({ outcome: 'rejected', body: '{"summary": "half' });
  });

  it('answers 413 to a body over server.maxBodyBytes, and records that it came', async () => {
    const { g, store, token } = await setup({ server: { maxBodyBytes: 1024 } });
    const r = await post(g, 'generic', token, { summary: 'x'.repeat(2000) });
    expect(r.status).toBe(413);
    expect(store.payloads()[0]).toMatchObject({ outcome: 'rejected', reason: expect.stringMatching(/over 1024 bytes/) });
  });

  it('answers 401 without a token, and records nothing', async () => {
    const { g, store } = await setup();
    const r = await post(g, 'generic', undefined, PAYLOADS.generic);
    expect(r.status).toBe(401);
    expect(r.json()).toMatchObject({ error: 'unauthorized' });
    expect(store.payloads()).toEqual([]);
  });

  it('answers 403 to a readonly token, and accepts operator and admin tokens', async () => {
    const { g } = await setup();
    const r = await post(g, 'generic', g.token('viewer', 'readonly'), PAYLOADS.generic);
    expect(r.status).toBe(403);
    expect(r.json()).toEqual({ error: 'forbidden', reason: 'role readonly may not use /alerts' });
    expect((await post(g, 'generic', g.token('ops', 'operator'), PAYLOADS.generic)).status).toBe(202);
    expect((await post(g, 'generic', g.token('root', 'admin'), PAYLOADS.generic)).status).toBe(202);
  });

  it('answers 404 for a source it does not know', async () => {
    const { g, token } = await setup();
    expect((await post(g, 'nagios', token, {})).status).toBe(404);
  });

  it('opens nothing for an Uptime Kuma test notification: 202 ignored, recorded as ignored', async () => {
    const { g, store, token } = await setup();
    const r = await post(g, 'uptime-kuma', token, { msg: 'Uptime Kuma Testing', heartbeat: null, monitor: null });
    expect(r.status).toBe(202);
    expect(r.json()).toEqual({ ignored: 'test notification (no heartbeat)' });
    expect(store.list()).toEqual([]);
    expect(store.payloads()[0]).toMatchObject({ outcome: 'ignored', reason: 'test notification (no heartbeat)' });
  });

  it('answers 500 when the intake fails, and still keeps the payload', async () => {
    class FailingStore extends IncidentStore {
      override create(): Incident { throw new Error('disk I/O error'); }
    }
    const db = openDb(join(tempDir('failing'), 'data'));
    const store = new FailingStore(db);
    const inventory = new InventoryStore(db);
    try {
      const g = await gateway.custom({ daemon: { intake: new Intake(store, inventory, IDLE_QUEUE, LOOP_DEFAULTS, silentLogger) } });
      const r = await post(g, 'generic', g.token('monitor', 'alerts'), PAYLOADS.generic);
      expect(r.status).toBe(500);
      expect(r.json()).toEqual({ error: 'internal', reason: expect.stringMatching(/retry later/) });
      expect(store.payloads()[0]).toMatchObject({ outcome: 'rejected', body: JSON.stringify(PAYLOADS.generic) });
    } finally {
      inventory.close();
      db.close();
    }
  });

  it('still records alerts and opens incidents with the loop disabled', async () => {
    const { g, store, token } = await setup({ config: 'loop:\n  enabled: false\n' });
    expect((await post(g, 'generic', token, PAYLOADS.generic)).status).toBe(202);
    expect(store.list({ status: 'active' })).toHaveLength(1);
  });
});

describe('Grafana signatures', () => {
  const secretGateway = () => setup({ config: 'loop:\n  grafanaSecretEnv: GRAFANA_HMAC\n', env: { GRAFANA_HMAC: 's3cret' } });
  const body = JSON.stringify(PAYLOADS.grafana);

  it('accepts a payload whose X-Grafana-Alerting-Signature matches the raw body', async () => {
    const { g, token } = await secretGateway();
    const r = await post(g, 'grafana', token, body, { 'x-grafana-alerting-signature': grafanaSignature('s3cret', body) });
    expect(r.status).toBe(202);
  });

  it('accepts a signature over timestamp and body when the timestamp header is sent', async () => {
    const { g, token } = await secretGateway();
    const ts = String(Math.floor(Date.now() / 1000));
    const r = await post(g, 'grafana', token, body, {
      'x-grafana-alerting-signature': grafanaSignature('s3cret', body, ts), 'x-grafana-alerting-signature-timestamp': ts,
    });
    expect(r.status).toBe(202);
  });

  it.each([
    ['a wrong signature', { 'x-grafana-alerting-signature': grafanaSignature('guess', body) }, /does not match/],
    ['no signature', {}, /missing x-grafana-alerting-signature/],
    ['a stale timestamp', { 'x-grafana-alerting-signature': grafanaSignature('s3cret', body, '1000000000'), 'x-grafana-alerting-signature-timestamp': '1000000000' }, /5 minutes/],
  ])('refuses %s with 401 and records the attempt', async (_what, headers, reason) => {
    const { g, store, token } = await secretGateway();
    const r = await post(g, 'grafana', token, body, headers);
    expect(r.status).toBe(401);
    expect(r.json()).toMatchObject({ error: 'unauthorized', reason: expect.stringMatching(reason) });
    expect(store.list()).toEqual([]);
    expect(store.payloads()[0]).toMatchObject({ outcome: 'rejected', source: 'grafana' });
  });

  it('needs no signature when no secret is configured', async () => {
    const { g, token } = await setup();
    expect((await post(g, 'grafana', token, body)).status).toBe(202);
  });
});

describe('an alert storm', () => {
  it('turns 1,000 alerts for 10 targets, in 100 payloads posted 4 at a time, into exactly 10 incidents', async () => {
    const { g, store, token } = await setup({ server: { rateLimit: { perMinute: 100_000, burst: 1_000 } } });
    const payload = (n: number) => ({
      alerts: Array.from({ length: 10 }, (_, k) => ({ fingerprint: `storm-${k}`, summary: `worker-${k} failing (${n})`, host: 'local', container: `worker-${k}` })),
    });
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < 100) statuses.push((await post(g, 'generic', token, payload(next++))).status);
    }));
    expect(statuses).toEqual(Array(100).fill(202));
    const incidents = store.list();
    expect(incidents).toHaveLength(10);
    expect(new Set(incidents.map((i) => i.target)).size).toBe(10);
    expect(incidents.reduce((n, i) => n + i.alertCount, 0)).toBe(1000);
    expect(store.payloads({ limit: 1000 })).toHaveLength(100);
    expect(store.payloads({ limit: 1000 }).every((p) => p.outcome === 'accepted' && p.incidentIds.length === 10)).toBe(true);
  });
});
