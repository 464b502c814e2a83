// A host threshold end to end: a small tmpfs this file mounts fills past the disk monitor's level,
// the loop (Claude unreachable) runs clean_disk through the gate in the one place the inventory
// allow-lists on it, verifies by reading the level again, and resolves. Nothing outside the
// allow-listed place is touched, however old.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLoopWorlds } from '../support/loop-world.js';
import { tempDir } from '../support/processes.js';

const worlds = useLoopWorlds('');
const MiB = 1024 * 1024;
const DAY_S = 86_400;
let disk: string;

beforeAll(() => {
  disk = join(tempDir('monitors-disk'), 'fs');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk], { stdio: 'pipe' });
});
afterAll(() => {
  if (disk) execFileSync('umount', [disk], { stdio: 'pipe' });
});

function oldFile(path: string, bytes: number, days: number): void {
  writeFileSync(path, Buffer.alloc(bytes, 1));
  const t = Date.now() / 1000 - days * DAY_S;
  utimesSync(path, t, t);
}

const OFF = 'cpu: false, memory: false, temperature: false, gpuUtilization: false, gpuTemperature: false, gpuMemory: false';

describe("warden's own disk threshold, Claude unreachable", () => {
  it('a filling disk fires, clean_disk frees the allow-listed place only, the level is read again and the incident resolves', async () => {
    const cache = join(disk, 'cache');
    const keep = join(disk, 'keep');
    mkdirSync(cache);
    mkdirSync(keep);
    const w = await worlds.world({
      script: null,
      inventory: {
        'hosts.yaml': `hosts:\n  - name: local\n    monitor: { interval: 1s, cooldown: 0s, ${OFF}, disk: { mounts: ["${disk}"], fire: 60, clear: 40 } }\n`
          + `    cleanup: [{ path: "${cache}", olderThanDays: 2 }]\n`,
      },
    });
    await new Promise((r) => setTimeout(r, 2_500));
    expect(w.loop.incidents.list().filter((i) => i.source === 'warden')).toEqual([]);
    // 2.5 MiB of old files in the cache, 0.5 MiB just as old outside it, one new file in it.
    for (let i = 0; i < 5; i += 1) oldFile(join(cache, `chunk-${i}.bin`), MiB / 2, 30);
    oldFile(join(keep, 'precious.db'), MiB / 2, 30);
    writeFileSync(join(cache, 'fresh.bin'), Buffer.alloc(64 * 1024, 1));

    const inc = await w.incident((i) => i.source === 'warden', ['resolved', 'escalated'], 60_000);
    expect(inc).toMatchObject({ status: 'resolved', fingerprint: `warden:host:local:disk:${disk}`, host: 'local', container: null, attempts: 1 });
    expect(inc.title).toMatch(new RegExp(`^disk ${disk} on local at \\d+(\\.\\d)?% \\(fires at 60%, clears below 40%\\)$`));
    expect(inc.resolution).toMatch(new RegExp(`^runbook clean_disk on local \\(.*\\); verified: disk ${disk} at \\d+(\\.\\d)?% \\(below the clear level 40%\\)$`));
    expect(readdirSync(cache)).toEqual(['fresh.bin']);
    expect(existsSync(join(keep, 'precious.db'))).toBe(true);
    const calls = w.rt.audit.forIncident(inc.id).filter((e) => e.tool === 'clean_disk');
    expect(calls.map((e) => `${e.principal}:${e.phase}:${e.target}`)).toEqual(['loop:requested:local/disk', 'loop:completed:local/disk']);
    // The monitor clears on its own next reading; the closed incident stays closed, nothing new opens.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(w.loop.monitors!.states().find((s) => s.id === `host:local:disk:${disk}`)).toMatchObject({ state: 'ok' });
    expect(w.loop.incidents.list().filter((i) => i.source === 'warden').map((i) => i.status)).toEqual(['resolved']);
  });
});
