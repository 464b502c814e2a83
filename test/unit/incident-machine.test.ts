// The incident state machine as the store applies it, driven by random sequences of events
// (fast-check): whatever order events come in, an incident is always in a known status, never
// leaves resolved or escalated, always says what it waits on, and an event its status does not
// allow changes nothing at all.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INCIDENT_EVENTS, InvalidTransition, TERMINAL_STATUSES, nextStatus, type IncidentEvent } from '../../src/shared/incident-machine.js';
import { INCIDENT_STATUSES } from '../../src/shared/incidents.js';
import { alert, useIncidentWorld } from '../support/incidents.js';

const world = useIncidentWorld();

const EVENTS = Object.keys(INCIDENT_EVENTS) as IncidentEvent[];
const step = fc.record({
  event: fc.constantFrom(...EVENTS),
  waitingOn: fc.option(fc.constant('apr_test'), { nil: undefined }),
  parentId: fc.option(fc.constant('inc_parent'), { nil: undefined }),
});

describe('the incident state machine', () => {
  it('keeps every incident in a valid state whatever events come, in any order', () => {
    const w = world();
    fc.assert(fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
      const inc = w.store.create(alert(), { target: null, host: null, container: null, service: null });
      let closedOnce = false;
      for (const s of steps) {
        const before = w.store.get(inc.id)!;
        const events = w.store.timeline(inc.id).length;
        const patch = { ...(s.waitingOn ? { waitingOn: s.waitingOn } : {}), ...(s.parentId ? { parentId: s.parentId } : {}) };
        let after;
        try {
          after = w.store.transition(inc.id, s.event, `because ${s.event}`, patch);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidTransition);
          // Refused: nothing written, not even the timeline.
          expect(w.store.get(inc.id)).toEqual(before);
          expect(w.store.timeline(inc.id)).toHaveLength(events);
          continue;
        }
        expect(after.status).toBe(nextStatus(before.status, s.event));
        expect(INCIDENT_STATUSES).toContain(after.status);
        expect(TERMINAL_STATUSES).not.toContain(before.status);
        expect(w.store.timeline(inc.id)).toHaveLength(events + 1);
        expect(w.store.timeline(inc.id).at(-1)!.summary).toContain(`because ${s.event}`);
        if (after.status === 'waiting_approval') expect(after.waitingOn).not.toBeNull();
        if (after.status === 'waiting_dependency') expect(after.parentId).not.toBeNull();
        expect(after.closedAt !== null).toBe(TERMINAL_STATUSES.includes(after.status));
        if (TERMINAL_STATUSES.includes(after.status)) closedOnce = true;
      }
      // Once closed, it stays closed.
      if (closedOnce) expect(TERMINAL_STATUSES).toContain(w.store.get(inc.id)!.status);
    }), { numRuns: 300 });
  });

  it('has no event that leaves resolved or escalated, and every active status can reach both', () => {
    for (const t of TERMINAL_STATUSES) for (const e of EVENTS) expect(nextStatus(t, e)).toBeUndefined();
    for (const s of INCIDENT_STATUSES.filter((x) => !TERMINAL_STATUSES.includes(x))) {
      expect(nextStatus(s, 'resolve')).toBe('resolved');
      expect(nextStatus(s, 'escalate')).toBe('escalated');
    }
  });
});
