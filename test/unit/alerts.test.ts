import { describe, expect, it } from 'vitest';
import { parseAlertPayload } from '../../src/loop/alerts/index.js';
import { grafanaSignature, verifyGrafanaSignature } from '../../src/loop/alerts/grafana-signature.js';

const alertmanager = {
  version: '4',
  groupKey: '{}:{alertname="ContainerDown"}',
  status: 'firing',
  receiver: 'warden',
  groupLabels: { alertname: 'ContainerDown' },
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  truncatedAlerts: 0,
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'ContainerDown', container: 'web-1', instance: 'local:9323', severity: 'critical' },
      annotations: { summary: 'web-1 is down' },
      startsAt: '2026-11-23T01:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus/graph',
      fingerprint: 'a1b2c3d4',
    },
  ],
};

describe('alert payloads', () => {
  it('normalises an Alertmanager v4 payload', () => {
    const r = parseAlertPayload('alertmanager', alertmanager);
    expect(r).toEqual({
      ok: true,
      result: [expect.objectContaining({
        source: 'alertmanager', fingerprint: 'alertmanager:a1b2c3d4', status: 'firing', severity: 'critical',
        summary: 'web-1 is down', hints: { container: 'web-1', instance: 'local:9323', host: undefined, service: undefined },
      })],
    });
  });

  it.each([
    ['a wrong version', { ...alertmanager, version: '3' }, /version/],
    ['no alerts', { ...alertmanager, alerts: [] }, /alerts/],
    ['an alert without labels', { ...alertmanager, alerts: [{ status: 'firing', startsAt: 'x' }] }, /alerts\[0\]\.labels/],
    ['a bad status', { ...alertmanager, status: 'burning' }, /status/],
  ])('refuses %s naming the field', (_what, body, field) => {
    const r = parseAlertPayload('alertmanager', body);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(field);
  });

  it('normalises Grafana alerts, deriving a fingerprint from labels when absent', () => {
    const body = { receiver: 'w', status: 'resolved', orgId: 1, alerts: [{ status: 'resolved', labels: { alertname: 'HighCPU', service: 'db' }, annotations: {}, startsAt: '2026-11-23T01:00:00Z' }] };
    const r = parseAlertPayload('grafana', body);
    expect(r.ok && r.result).toEqual([expect.objectContaining({ source: 'grafana', status: 'resolved', summary: 'HighCPU', hints: expect.objectContaining({ service: 'db' }) })]);
    expect(r.ok && (r.result as Array<{ fingerprint: string }>)[0]!.fingerprint).toMatch(/^grafana:[0-9a-f]{16}$/);
  });

  it.each([
    ['the test notification', { msg: 'Uptime Kuma Testing', heartbeat: null, monitor: null }, 'test notification (no heartbeat)'],
    ['maintenance', { msg: 'm', heartbeat: { monitorID: 3, status: 3, msg: '' }, monitor: { id: 3, name: 'web' } }, 'monitor is in maintenance'],
  ])('opens nothing for Uptime Kuma %s', (_what, body, why) => {
    expect(parseAlertPayload('uptime-kuma', body)).toEqual({ ok: true, result: { ignored: why } });
  });

  it('maps Uptime Kuma down and up to firing and resolved of one fingerprint', () => {
    const down = parseAlertPayload('uptime-kuma', { msg: '[web] [🔴 Down] timeout', heartbeat: { monitorID: 7, status: 0, msg: 'timeout', time: '2026-11-23 01:02:03' }, monitor: { id: 7, name: 'web-1', type: 'http', url: 'http://127.0.0.1:8080' } });
    const up = parseAlertPayload('uptime-kuma', { msg: 'up', heartbeat: { monitorID: 7, status: 1, msg: 'OK' }, monitor: { id: 7, name: 'web-1' } });
    expect(down.ok && down.result).toEqual([expect.objectContaining({ fingerprint: 'uptime-kuma:7', status: 'firing', summary: 'web-1: timeout', startsAt: '2026-11-23T01:02:03.000Z' })]);
    expect(up.ok && up.result).toEqual([expect.objectContaining({ fingerprint: 'uptime-kuma:7', status: 'resolved' })]);
  });

  it('accepts the generic shape, one alert or a list, and refuses unknown keys', () => {
    expect(parseAlertPayload('generic', { summary: 'disk full', host: 'local', container: 'db' })).toEqual({
      ok: true, result: [expect.objectContaining({ fingerprint: 'generic:local/db:disk full', status: 'firing', hints: expect.objectContaining({ host: 'local', container: 'db' }) })],
    });
    expect(parseAlertPayload('generic', { alerts: [{ summary: 'a' }, { summary: 'b', status: 'resolved' }] }).ok).toBe(true);
    const bad = parseAlertPayload('generic', { summary: 'x', sevrity: 'critical' });
    expect(!bad.ok && bad.error).toMatch(/sevrity/);
  });
});

describe('Grafana signature', () => {
  it('verifies the HMAC of the raw body, with and without a timestamp', () => {
    const body = '{"status":"firing"}';
    expect(verifyGrafanaSignature('s3cret', body, grafanaSignature('s3cret', body))).toBe(true);
    expect(verifyGrafanaSignature('s3cret', body, grafanaSignature('s3cret', body, '1700000000'), '1700000000')).toBe(true);
    expect(verifyGrafanaSignature('s3cret', body, grafanaSignature('other', body))).toBe(false);
    expect(verifyGrafanaSignature('s3cret', `${body} `, grafanaSignature('s3cret', body))).toBe(false);
    expect(verifyGrafanaSignature('s3cret', body, undefined)).toBe(false);
    expect(verifyGrafanaSignature('s3cret', body, 'zz')).toBe(false);
  });
});
