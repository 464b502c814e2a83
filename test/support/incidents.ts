// Incidents on a real SQLite file for unit tests: the store, the example inventory, an intake whose
// queue records what it was asked to wake, and a clock the test moves.
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { NormalizedAlert } from '../../src/shared/alerts.js';
import { LOOP_DEFAULTS, type LoopConfig } from '../../src/loop/config.js';
import { Intake } from '../../src/loop/intake.js';
import { openDb, type Db } from '../../src/store/db.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { readInventoryDir } from '../../src/store/inventory-file.js';
import { InventoryStore } from '../../src/store/inventory.js';
import { EXAMPLE_INVENTORY } from './inventory.js';
import { tempDir } from './processes.js';

export interface IncidentWorld {
  db: Db;
  store: IncidentStore;
  inventory: InventoryStore;
  intake: Intake;
  /** Ids the intake woke, in order. */
  woken: string[];
  /** Incidents the intake closed while work may have been under way, with why. */
  closed: Array<{ id: string; reason: string }>;
  clock: { now: Date; advanceMinutes(m: number): void };
}

/** Call at the top level of a test file: `world()` makes one, closed after its test. */
export function useIncidentWorld(): (cfg?: Partial<LoopConfig>) => IncidentWorld {
  const open: IncidentWorld[] = [];
  afterEach(() => {
    for (const w of open.splice(0)) {
      w.inventory.close();
      w.db.close();
    }
  });
  return (cfg = {}) => {
    const db = openDb(join(tempDir('incidents'), 'data'));
    const inventory = new InventoryStore(db);
    inventory.load(readInventoryDir(EXAMPLE_INVENTORY));
    const clock = {
      now: new Date('2026-11-23T10:00:00.000Z'),
      advanceMinutes(m: number) { clock.now = new Date(clock.now.getTime() + m * 60_000); },
    };
    // Each reading moves the clock on by a millisecond, so every write has its own time, in order.
    const now = (): Date => { clock.now = new Date(clock.now.getTime() + 1); return clock.now; };
    const store = new IncidentStore(db, now);
    const woken: string[] = [];
    const closed: Array<{ id: string; reason: string }> = [];
    const queue = { wake: (id: string) => { woken.push(id); }, closedElsewhere: (id: string, reason: string) => { closed.push({ id, reason }); }, parked: () => undefined };
    const intake = new Intake(store, inventory, queue, { ...LOOP_DEFAULTS, ...cfg }, silentLogger, now);
    const w = { db, store, inventory, intake, woken, closed, clock };
    open.push(w);
    return w;
  };
}

/** A firing warning alert from the generic source; override what the test is about. */
export function alert(over: Partial<NormalizedAlert> = {}): NormalizedAlert {
  return {
    source: 'generic',
    fingerprint: 'generic:test',
    status: 'firing',
    severity: 'warning',
    summary: 'something is wrong',
    startsAt: '2026-11-23T09:59:00.000Z',
    labels: {},
    annotations: {},
    hints: {},
    ...over,
  };
}
