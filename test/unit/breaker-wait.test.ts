// An incident on a host whose Docker or SSH breaker is open waits for the trial: one note per
// opening, a look again when the trial is due, and a human told after BREAKER_WAIT_LIMIT_MS.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BreakerBoard } from '../../src/adapters/breakers.js';
import { BREAKER_WAIT_LIMIT_MS, breakerWait } from '../../src/loop/breaker-wait.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { openDb } from '../../src/store/db.js';
import { testAlert } from '../support/agent.js';
import { tempDir } from '../support/processes.js';

async function world(halfOpenMs = 60_000, host = 'web') {
  const db = openDb(join(tempDir('breaker-wait'), 'data'));
  const incidents = new IncidentStore(db);
  const inc = incidents.create(testAlert(), { target: `${host}/api`, host, container: 'api', service: null });
  const board = new BreakerBoard({ failures: 1, halfOpenMs });
  const trip = async (name: string) => {
    await board.get(name, 'docker', () => true).run(() => Promise.reject(new Error('connect ECONNREFUSED'))).catch(() => undefined);
  };
  return { db, incidents, inc, board, trip };
}

describe('breakerWait', () => {
  it('lets the incident be worked on while its host has no open breaker', async () => {
    const w = await world();
    await w.trip('docker:other-host');
    expect(breakerWait(w.incidents, w.board, w.inc)).toBeUndefined();
    expect(breakerWait(w.incidents, undefined, w.inc)).toBeUndefined();
    w.db.close();
  });

  it("waits until the trial is due while the host's Docker breaker is open, noting why once per opening", async () => {
    const w = await world();
    await w.trip('docker:web');
    const now = Date.now();
    const first = breakerWait(w.incidents, w.board, w.inc, now);
    expect(first).toMatchObject({ wait: true });
    expect((first as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(55_000);
    breakerWait(w.incidents, w.board, w.inc, now + 1_000);
    const notes = w.incidents.timeline(w.inc.id).filter((e) => e.kind === 'note');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.summary).toMatch(/^waiting: docker:web is failing \(1 failures in a row: connect ECONNREFUSED\); its circuit breaker is open until/);
    w.db.close();
  });

  it('waits on the SSH breaker too, and escalates once the host has been away longer than the limit', async () => {
    const w = await world(2 * BREAKER_WAIT_LIMIT_MS);
    await w.trip('ssh:web');
    const now = Date.now();
    expect(breakerWait(w.incidents, w.board, w.inc, now)).toMatchObject({ wait: true });
    expect(breakerWait(w.incidents, w.board, w.inc, now + BREAKER_WAIT_LIMIT_MS - 1_000)).toMatchObject({ wait: true });
    expect(breakerWait(w.incidents, w.board, w.inc, now + BREAKER_WAIT_LIMIT_MS + 1_000)).toEqual({
      escalate: expect.stringMatching(/^ssh:web is failing .*its incidents waited since .* for the host to come back, and it has not$/),
    });
    w.db.close();
  });

  it('still escalates after the limit when repeats of the alert landed on the timeline meanwhile', async () => {
    const w = await world(2 * BREAKER_WAIT_LIMIT_MS);
    await w.trip('docker:web');
    const now = Date.now();
    expect(breakerWait(w.incidents, w.board, w.inc, now)).toMatchObject({ wait: true });
    w.incidents.addAlert(w.inc.id, testAlert());
    expect(breakerWait(w.incidents, w.board, w.inc, now + 60_000)).toMatchObject({ wait: true });
    expect(w.incidents.timeline(w.inc.id).filter((e) => e.kind === 'note')).toHaveLength(1);
    expect(breakerWait(w.incidents, w.board, w.inc, now + BREAKER_WAIT_LIMIT_MS + 60_000)).toHaveProperty('escalate');
    w.db.close();
  });
});
