// Docker events as alerts, on the hand-written fake adapter: translation, stop requests, restart
// storms, and reconnecting where the stream left off.
import { describe, expect, it } from 'vitest';
import type { DockerEvent } from '../../src/adapters/docker-types.js';
import { readEventStream } from '../../src/adapters/docker-event-stream.js';
import { silentLogger } from '../../src/log.js';
import type { NormalizedAlert } from '../../src/shared/alerts.js';
import { DockerEventTranslator, watchDockerEvents } from '../../src/loop/docker-events.js';
import { FakeDocker, fakeAdapters } from '../support/fake-docker.js';

const T0 = 1_795_000_000e9;
let seq = 0;
function ev(action: string, name: string, attributes: Record<string, string> = {}, atSeconds?: number): DockerEvent {
  seq += 1;
  return { type: 'container', action, id: `id-${name}`, name, attributes: { name, image: 'busybox', ...attributes }, timeNano: atSeconds === undefined ? T0 + seq * 1e6 : T0 + atSeconds * 1e9 };
}

describe('DockerEventTranslator', () => {
  it('reports a die with its exit code, one fingerprint per container', () => {
    const a = new DockerEventTranslator('local').translate(ev('die', 'web-1', { exitCode: '137' }));
    expect(a).toMatchObject({
      source: 'docker', fingerprint: 'docker:local/web-1', status: 'firing', severity: 'warning', summary: 'web-1 exited with code 137',
      labels: { event: 'die', exitCode: '137', image: 'busybox' }, hints: { host: 'local', container: 'web-1' },
    });
  });

  it.each([
    ['oom', 'oom', 'critical', /out of memory/],
    ['health_status: unhealthy', 'health_status', 'warning', /unhealthy/],
  ])('reports %s', (action, event, severity, summary) => {
    expect(new DockerEventTranslator('local').translate(ev(action, 'db'))).toMatchObject({ fingerprint: 'docker:local/db', severity, summary: expect.stringMatching(summary), labels: { event } });
  });

  it.each(['health_status: healthy', 'start', 'create', 'exec_start: sh'])('reports nothing for %s', (action) => {
    expect(new DockerEventTranslator('local').translate(ev(action, 'db'))).toBeUndefined();
  });

  it('skips the die that follows a stop request, but not the next crash after it started again', () => {
    const t = new DockerEventTranslator('local');
    expect(t.translate(ev('kill', 'web-1', { signal: '15' }))).toBeUndefined();
    expect(t.translate(ev('die', 'web-1', { exitCode: '143' }))).toBeUndefined();
    t.translate(ev('start', 'web-1'));
    expect(t.translate(ev('die', 'web-1', { exitCode: '1' }))).toBeDefined();
  });

  it('does not take a reload signal for a stop request', () => {
    const t = new DockerEventTranslator('local');
    t.translate(ev('kill', 'lb', { signal: '1' }));
    expect(t.translate(ev('die', 'lb', { exitCode: '1' }))).toBeDefined();
  });

  it('marks more than N dies within the window as a critical restart storm, still one fingerprint', () => {
    const t = new DockerEventTranslator('local', { dies: 3, windowMs: 60_000 });
    const alerts = [0, 10, 20, 30, 200].map((s) => t.translate(ev('die', 'web-1', { exitCode: '1' }, s))!);
    expect(alerts.map((a) => [a.severity, a.labels.storm ?? null])).toEqual([
      ['warning', null], ['warning', null], ['warning', null], ['critical', 'true'], ['warning', null],
    ]);
    expect(new Set(alerts.map((a) => a.fingerprint)).size).toBe(1);
    expect(alerts[3]!.summary).toMatch(/4 exits within 60 s: restart storm/);
  });
});

describe('readEventStream', () => {
  it('splits newline-delimited JSON cut anywhere, skipping lines that are not events', async () => {
    const line = JSON.stringify({ Type: 'container', Action: 'die', Actor: { ID: 'abc', Attributes: { name: 'web-1', exitCode: '3' } }, timeNano: 5 });
    const text = `${line}\nnot json\n${line}`;
    const chunks = [text.slice(0, 7), text.slice(7, 80), text.slice(80)].map((s) => Buffer.from(s));
    const out: DockerEvent[] = [];
    for await (const e of readEventStream((async function* () { yield* chunks; })())) out.push(e);
    expect(out).toEqual([
      { type: 'container', action: 'die', id: 'abc', name: 'web-1', attributes: { name: 'web-1', exitCode: '3' }, timeNano: 5 },
      expect.objectContaining({ action: 'die' }),
    ]);
  });
});

async function until(what: string, done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('watchDockerEvents', () => {
  const backoff = { initialMs: 5, maxMs: 20 };

  it('delivers alerts, and reconnects from the last event seen after the stream ends, skipping the replayed one', async () => {
    const docker = new FakeDocker();
    const got: NormalizedAlert[] = [];
    const watch = watchDockerEvents(['local'], fakeAdapters(docker), (a) => got.push(...a), silentLogger, { backoff });
    await watch.ready();
    const first = ev('die', 'web-1', { exitCode: '3' }, 10.5);
    docker.emitEvent(first);
    await until('the first alert', () => got.length === 1);
    docker.endEventStream();
    await until('the reconnect', () => docker.eventRequests.length === 2);
    expect(docker.eventRequests[1]!.since).toBe(Math.floor(first.timeNano / 1e9));
    docker.emitEvent(first);
    docker.emitEvent(ev('oom', 'db', {}, 11));
    await until('the second alert', () => got.length === 2);
    expect(got.map((a) => a.labels.event)).toEqual(['die', 'oom']);
    await watch.close();
    expect(docker.eventRequests[0]!.filters).toEqual({ type: ['container'], event: ['die', 'oom', 'health_status', 'kill', 'start'] });
  });

  it('keeps retrying while Docker is unreachable', async () => {
    const docker = new FakeDocker();
    docker.eventFailures = 3;
    const got: NormalizedAlert[] = [];
    const watch = watchDockerEvents(['local'], fakeAdapters(docker), (a) => got.push(...a), silentLogger, { backoff });
    await until('a stream that opens', () => docker.eventRequests.length === 4);
    docker.emitEvent(ev('die', 'web-1', { exitCode: '1' }));
    await until('the alert', () => got.length === 1);
    await watch.close();
  });

  it('survives an onAlerts that throws, and stops cleanly on close', async () => {
    const docker = new FakeDocker();
    let calls = 0;
    const watch = watchDockerEvents(['local'], fakeAdapters(docker), () => { calls += 1; throw new Error('db locked'); }, silentLogger, { backoff });
    await watch.ready();
    docker.emitEvent(ev('die', 'a', { exitCode: '1' }));
    docker.emitEvent(ev('die', 'b', { exitCode: '1' }));
    await until('both deliveries', () => calls === 2);
    await watch.close();
    await watch.close();
    expect(docker.eventRequests).toHaveLength(1);
  });
});
