// What canonicalising a call's target costs the gate, in one run: TargetCanonicalizer on the
// arguments of a read by name (no Docker lookup), a write by name and a write by 12-hex ID prefix
// (each one lookup, here against the in-process FakeDocker so the figure is warden's own work; on a
// real daemon add one inspect round trip, ~1 ms on loopback). Prints median/p90 in µs per call
// against the 0.02 ms target. Asserts nothing; not a test.
//
// Run: npm run bench:canonical [-- --calls 20000]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TargetCanonicalizer } from '../src/policy/canonical-target.js';
import { openDb } from '../src/store/db.js';
import { InventoryStore } from '../src/store/inventory.js';
import { FakeDocker, fakeAdapters } from '../test/support/fake-docker.js';

const { values: flags } = parseArgs({ options: { calls: { type: 'string', default: '20000' } } });
const CALLS = Number(flags.calls);
const TARGET_US = 20;

const dir = mkdtempSync(join(tmpdir(), 'warden-bench-canon-'));
const db = openDb(join(dir, 'data'));
const inventory = new InventoryStore(db);
const docker = new FakeDocker();
const ID = 'a556d8fb8e0d'.padEnd(64, '7');
docker.containers = [{ ...docker.containers[0]!, id: ID, name: 'web-1' }, ...Array.from({ length: 20 }, (_, i) => ({ ...docker.containers[0]!, id: `${i}`.padStart(64, 'c'), name: `svc-${i}` }))];
const canon = new TargetCanonicalizer(fakeAdapters(docker), inventory);

async function measure(label: string, input: Record<string, unknown>, risk: 'read' | 'low'): Promise<void> {
  for (let i = 0; i < 1_000; i += 1) await canon.canonicalize(input, risk);
  const times: number[] = [];
  for (let i = 0; i < CALLS; i += 1) {
    const t = performance.now();
    await canon.canonicalize(input, risk);
    times.push((performance.now() - t) * 1_000);
  }
  times.sort((a, b) => a - b);
  const at = (q: number): string => times[Math.floor(q * (times.length - 1))]!.toFixed(1);
  console.log(`${label.padEnd(34)} median ${at(0.5).padStart(6)} µs  p90 ${at(0.9).padStart(6)} µs  (target ${TARGET_US} µs)`);
}

console.log(`canonical targets, ${CALLS} calls each, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
await measure('read by name (no lookup)', { host: 'local', container: 'web-1' }, 'read');
await measure('write by name (FakeDocker lookup)', { host: 'local', container: 'web-1' }, 'low');
await measure('write by 12-hex prefix', { host: 'local', container: ID.slice(0, 12) }, 'low');
inventory.close();
db.close();
rmSync(dir, { recursive: true, force: true });
