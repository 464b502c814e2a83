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

  // Date.parse is lenient ("0" is 2000-01-01): a start that is not an ISO time with a zone would put
  // the failure years back (a late repeat of a long-closed incident, years of MTTD). The intake time it is.
  it.each(['0', '1', 'tuesday 5', '2026-11-23', '2026-11-23T01:00:00', '2026-02-30T00:00:00Z'])(
    'replaces an Alertmanager or Grafana startsAt %j by the time it was received', (startsAt) => {
      const before = Date.now();
      for (const [format, body] of [
        ['alertmanager', { ...alertmanager, alerts: [{ ...alertmanager.alerts[0]!, startsAt }] }],
        ['grafana', { status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'A' }, annotations: {}, startsAt }] }],
      ] as const) {
        const r = parseAlertPayload(format, body);
        const got = r.ok && Array.isArray(r.result) ? r.result[0]!.startsAt : 'none';
        expect(got).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        expect(Date.parse(got)).toBeGreaterThanOrEqual(before);
        expect(Date.parse(got)).toBeLessThanOrEqual(Date.now());
      }
    });

  it('keeps an ISO start with an offset as sent', () => {
    const r = parseAlertPayload('alertmanager', { ...alertmanager, alerts: [{ ...alertmanager.alerts[0]!, startsAt: '2026-11-23T03:00:00.123456789+02:00' }] });
    expect(r.ok && Array.isArray(r.result) && r.result[0]!.startsAt).toBe('2026-11-23T03:00:00.123456789+02:00');
  });

  it.each([
    ['no zone, as Uptime Kuma sends it (UTC)', '2026-11-23 01:02:03.456', '2026-11-23T01:02:03.456Z'],
    ['a zone', '2026-11-23T03:02:03+02:00', '2026-11-23T01:02:03.000Z'],
  ])('reads an Uptime Kuma heartbeat time with %s', (_what, time, startsAt) => {
    const r = parseAlertPayload('uptime-kuma', { msg: 'down', heartbeat: { monitorID: 7, status: 0, msg: 'timeout', time }, monitor: { id: 7, name: 'web-1' } });
    expect(r.ok && Array.isArray(r.result) && r.result[0]!.startsAt).toBe(startsAt);
  });

  it('takes the intake time for an Uptime Kuma heartbeat time it cannot read (it used to throw)', () => {
    const before = Date.now();
    const r = parseAlertPayload('uptime-kuma', { msg: 'down', heartbeat: { monitorID: 7, status: 0, msg: 'timeout', time: 'soon' }, monitor: { id: 7, name: 'web-1' } });
    const got = r.ok && Array.isArray(r.result) ? Date.parse(r.result[0]!.startsAt) : NaN;
    expect(got).toBeGreaterThanOrEqual(before);
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
