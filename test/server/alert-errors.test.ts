// A malformed alert from each source, over real HTTP on loopback: the 400 names the field and what
// was expected, never `(root): Invalid input`; for the generic union, which shape it was read as.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXAMPLE_INVENTORY } from '../support/inventory.js';
import { request, useGateways } from '../support/http-gateway.js';
import { IncidentStore } from '../../src/store/incidents.js';

const gateway = useGateways();

async function refusal(format: string, body: unknown): Promise<string> {
  const g = await gateway.custom({ inventory: EXAMPLE_INVENTORY });
  const r = await request(g.url, `/alerts/${format}`, { token: g.token('monitor', 'alerts'), body });
  expect(r.status).toBe(400);
  const reason = r.json().reason as string;
  expect(reason).not.toMatch(/\(root\): Invalid input$/);
  // Refused, and kept as sent with the same reason.
  expect(new IncidentStore(g.rt.db).payloads()).toEqual([expect.objectContaining({ outcome: 'rejected', reason })]);
  return reason;
}

const STARTS = '2026-11-30T06:00:00Z';

describe('alert payload errors name the field', () => {
  it('generic: a label that is not a string is named with its path, read as one alert', async () => {
    const reason = await refusal('generic', { summary: 'disk full', labels: { alertname: 5 } });
    expect(reason).toMatch(/^generic payload: labels\.alertname: Invalid input: expected string, received number \(read as one alert; accepted: one alert \{"summary"/);
    expect(reason).toMatch(/ or a batch \{"alerts": \[alert, \.\.\.\]\}\)$/);
  });

  it('generic: a batch whose alert has a bad field is read as a batch and names alerts[i].field', async () => {
    const reason = await refusal('generic', { alerts: [{ summary: 'ok' }, { summary: 7 }] });
    expect(reason).toMatch(/^generic payload: alerts\[1\]\.summary: Invalid input: expected string, received number \(read as a batch;/);
    expect(reason).not.toMatch(/Unrecognized key/);
  });

  it('generic: a missing summary is named, not reported as an unknown shape', async () => {
    const reason = await refusal('generic', { host: 'local', severity: 'loud' });
    expect(reason).toMatch(/^generic payload: severity: Invalid option: expected one of "critical"\|"warning"\|"info"; summary: Invalid input: expected string, received undefined \(read as one alert;/);
  });

  it('generic: a body that is not an object says what was expected', async () => {
    const reason = await refusal('generic', ['disk full']);
    expect(reason).toMatch(/^generic payload: \(root\): Invalid input: expected object, received array \(read as one alert; accepted:/);
  });

  it('generic: names at most ten fields of a large bad batch, and counts the rest', async () => {
    const reason = await refusal('generic', { alerts: Array.from({ length: 25 }, () => ({ summary: 1 })) });
    expect(reason.match(/alerts\[\d+\]\.summary/g)).toHaveLength(10);
    expect(reason).toMatch(/; and 15 more \(read as a batch;/);
  });

  it('generic: keeps one field error short, even one listing thousands of unknown keys', async () => {
    const extra = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`unknown_key_${i}`, 1]));
    const reason = await refusal('generic', { summary: 'disk full', ...extra });
    expect(reason).toMatch(/^generic payload: unknown keys "unknown_key_0"/);
    expect(reason.length).toBeLessThan(1_000);
  });

  it('generic: a key with newlines, ANSI escapes or a line separator is escaped in the reason, and a huge key is capped', async () => {
    const evil = 'x\n{"level":50,"msg":"forged"}\r\u001b[31mRED\u2028\u202e';
    const reason = await refusal('generic', { summary: 'disk full', labels: { [evil]: 5, ['k'.repeat(1_000_000)]: 6, ['😀'.repeat(400)]: 7 }, [evil]: 1 });
    expect(reason).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
    expect(reason).toContain('labels.x\\u000a{"level":50,"msg":"forged"}\\u000d\\u001b[31mRED\\u2028\\u202e: Invalid input');
    expect(reason).toContain('unknown key "x\\u000a{');
    // Capped by code point: never half of a surrogate pair.
    expect(reason).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(reason.length).toBeLessThan(2_000);
  });

  it('alertmanager: names alerts[i].labels.<name>', async () => {
    const reason = await refusal('alertmanager', {
      version: '4', groupKey: 'g', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 5 }, startsAt: STARTS }],
    });
    expect(reason).toBe('alertmanager payload: alerts[0].labels.alertname: Invalid input: expected string, received number');
  });

  it('grafana: names each missing field of an alert', async () => {
    const reason = await refusal('grafana', { status: 'firing', alerts: [{ status: 'firing' }] });
    expect(reason).toBe('grafana payload: alerts[0].labels: Invalid input: expected record, received undefined; alerts[0].startsAt: Invalid input: expected string, received undefined');
  });

  it('uptime-kuma: names heartbeat and monitor fields', async () => {
    const reason = await refusal('uptime-kuma', { msg: 'down', heartbeat: { monitorID: 7, status: 9 }, monitor: { id: 7 } });
    expect(reason).toBe('uptime-kuma payload: heartbeat.status: Too big: expected number to be <=3; monitor.name: Invalid input: expected string, received undefined');
  });
});

describe('the receiver snippets in docs/alerts.md', () => {
  it('name only paths the gateway serves, to a token of role alerts', async () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../docs/alerts.md'), 'utf8');
    const paths = [...new Set([...doc.matchAll(/https:\/\/warden\.example\.org(\/[^\s`'"]*)/g)].map((m) => m[1]!))];
    expect(paths.sort()).toEqual(['/alerts/alertmanager', '/alerts/generic', '/alerts/grafana', '/alerts/uptime-kuma']);
    const g = await gateway.custom({ inventory: EXAMPLE_INVENTORY });
    const token = g.token('monitor', 'alerts');
    for (const path of paths) {
      // A payload no source accepts: a served path with an accepted token answers 400, never 401, 403 or 404.
      const r = await request(g.url, path, { token, body: { nothing: true } });
      expect({ path, status: r.status }).toEqual({ path, status: 400 });
    }
  });
});
