// A health-checked container does not send a non-neutral event per probe. Docker 28
// sends exec_create/exec_start/exec_die per probe (neutral for the list cache) and health_status
// only when the status changes, so such a container's entry is not dropped every interval.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { readEventStream } from '../../src/adapters/docker-event-stream.js';
import { createContainer, dockerFor, waitUntil } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';

let dockerd: Dockerd;
let docker: Docker;
beforeAll(async () => {
  dockerd = await startDockerd();
  docker = dockerFor(dockerd);
});
afterAll(async () => {
  await dockerd?.stop();
});

it('a healthy container probed every 300 ms sends only exec events once healthy', async () => {
  const c = await createContainer(dockerd, 'probed', { healthcheck: { test: ['CMD', 'true'], intervalMs: 300, retries: 1 } });
  await waitUntil(c, 'healthy', (i) => i.State.Health?.Status === 'healthy');
  const ac = new AbortController();
  const raw = await docker.getEvents({ filters: { type: ['container'] }, abortSignal: ac.signal } as Docker.GetEventsOptions);
  const actions: string[] = [];
  const reading = (async () => { try { for await (const ev of readEventStream(raw as AsyncIterable<Buffer>)) actions.push(ev.action.split(':')[0]!); } catch { /* aborted */ } })();
  await new Promise((r) => setTimeout(r, 3_000));
  ac.abort();
  (raw as unknown as { destroy(): void }).destroy();
  await reading;
  const kinds = [...new Set(actions)].sort();
  console.log(`${actions.length} events in 3 s: ${kinds.join(', ')}`);
  expect(actions.length).toBeGreaterThan(3);
  expect(kinds.every((k) => k.startsWith('exec_'))).toBe(true);
}, 60_000);
