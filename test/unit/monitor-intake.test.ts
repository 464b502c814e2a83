// warden's own monitors' alerts in the intake, with a clock the test moves: a long outage repeated
// every few minutes is one incident for the human it was escalated to, whatever the cooldown; a new
// occurrence opens; the recovery of a closed occurrence is counted on it; and the loop's verdict on
// a probe comes from the monitor's state now, not from which alert opened the incident.
import { describe, expect, it } from 'vitest';
import { toAlert } from '../../src/loop/monitors/monitor-plan.js';
import { probeVerdictOf } from '../../src/loop/flow-steps.js';
import type { Incident } from '../../src/shared/incidents.js';
import { useIncidentWorld } from '../support/incidents.js';

const world = useIncidentWorld();

const gpuBusy = (firing: boolean, at: Date) => toAlert({
  id: 'host:local:gpu0:utilization', firing, severity: 'warning', summary: `GPU 0 utilisation on local at 99% (${firing ? 'firing' : 'clear'})`,
  detail: 'GPU 0 utilisation: 99%', hints: { host: 'local' }, labels: { check: 'gpuUtilization', gpu: '0' }, at: at.getTime(),
});

describe("warden's own alerts in the intake", () => {
  it('counts the repeats of an escalated occurrence on it for as long as it lasts, past any cooldown; a new occurrence opens', () => {
    const w = world({ cooldownMinutes: 10 });
    const start = new Date(w.clock.now);
    const [first] = w.intake.ingest([gpuBusy(true, start)]).incidentIds;
    w.store.transition(first!, 'work', 'Claude investigates');
    w.store.transition(first!, 'escalate', 'no runbook lowers GPU utilisation', {}, { kind: 'escalation' });
    for (let i = 0; i < 24; i += 1) {
      w.clock.advanceMinutes(5);
      expect(w.intake.ingest([gpuBusy(true, start)]).incidentIds).toEqual([first]);
    }
    expect(w.store.list().map((i) => i.id)).toEqual([first]);
    expect(w.store.get(first!)!.alertCount).toBe(25);
    // It recovers: counted on the escalated incident, no "resolved before its firing" record.
    w.clock.advanceMinutes(1);
    expect(w.intake.ingest([gpuBusy(false, start)]).incidentIds).toEqual([first]);
    // A new occurrence later is a new incident.
    w.clock.advanceMinutes(30);
    const again = w.intake.ingest([gpuBusy(true, new Date(w.clock.now))]).incidentIds;
    expect(again).not.toEqual([first]);
    expect(w.store.list()).toHaveLength(2);
  });

  it('labels every monitor alert with its host (and service), so silences by host or service cover them', () => {
    const probe = toAlert({ id: 'service:web-1', firing: true, severity: 'warning', summary: 's', detail: 'd\u001b[2Jx\nnext', hints: { host: 'local', container: 'web-1', service: 'web-1' }, labels: { check: 'http' }, at: 0 });
    expect(probe.labels).toEqual({ monitor: 'service:web-1', host: 'local', service: 'web-1', check: 'http' });
    expect(probe.annotations.detail).toBe('d [2Jx next');
    expect(gpuBusy(true, new Date(0)).labels).toMatchObject({ host: 'local', check: 'gpuUtilization' });
  });

  it('redacts credentials a health URL carries from the summary and detail', () => {
    const a = toAlert({ id: 'service:api', firing: true, severity: 'warning', summary: 'api is down: GET http://bob:s3cret@127.0.0.1:8080/h?token=abc failed', detail: 'http://bob:s3cret@127.0.0.1:8080/h?token=abc: connection refused', hints: { host: 'local' }, labels: {}, at: 0 });
    expect(`${a.summary} ${a.annotations.detail}`).not.toMatch(/s3cret|abc/);
    expect(a.summary).toMatch(/bob:\[REDACTED\]@127\.0\.0\.1:8080\/h\?token=\[REDACTED\]/);
  });
});

describe("the loop's reading of a probe", () => {
  const inc = (fingerprint: string, service: string | null): Incident => ({ fingerprint, service, title: 'web-1 is down' } as Incident);
  const monitors = (state: { status: 'pending' | 'up' | 'down'; everUp: boolean } | undefined) => ({
    monitors: { recheck: async () => undefined, probeState: () => (state ? { ...state, detail: 'GET http://x/ answered 500' } : undefined) },
  });

  it.each([
    ['down, after it passed once: restart', 'docker:local/web-1', { status: 'down', everUp: true }, { down: expect.stringMatching(/^warden's probe of web-1 fails \(GET/) }],
    ['down, never passed: a check to fix, no restart', 'warden:service:web-1', { status: 'down', everUp: false }, { never: expect.stringMatching(/has never passed since it started .*check the service's healthCheck/) }],
    ['up again since the alert: nothing', 'warden:service:web-1', { status: 'up', everUp: true }, undefined],
    ['no monitor here: the incident\'s own alert', 'warden:service:web-1', undefined, { down: expect.stringMatching(/^warden's probe of web-1 fails \(web-1 is down\)$/) }],
    ['no monitor, an incident of another source: nothing', 'docker:local/web-1', undefined, undefined],
  ] as const)('%s', (_what, fingerprint, state, verdict) => {
    expect(probeVerdictOf(monitors(state as never), inc(fingerprint, 'web-1'))).toEqual(verdict);
  });
});
