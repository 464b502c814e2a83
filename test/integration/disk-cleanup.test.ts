// clean_disk on a real tmpfs this file mounts (we run as root), through warden's real MCP server
// and guard under the default policy: only old regular files inside the declared place go; the
// sibling directory, a symlink's target, new files, directories and a filesystem mounted below
// the place stay. Over a real sshd on 127.0.0.1 the same place is cleaned as a remote host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, lutimesSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { tempDir } from '../support/processes.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { linkClient, testRuntime } from '../support/warden.js';

const DAY_S = 86_400;
const KiB = 1024;
let root: string;
let sshd: Sshd;
/** Mounted by this file, unmounted innermost first in afterAll. */
const mounts: string[] = [];
let n = 0;

function mount(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  // Loud on purpose: without the tmpfs the usage and -xdev checks would test nothing.
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  mounts.push(dir);
}

beforeAll(async () => {
  sshd = await startSshd();
  const dir = tempDir('disk-cleanup');
  root = join(dir, 'fs');
  mount(root, '8m');
});

afterAll(async () => {
  for (const m of mounts.splice(0).reverse()) execFileSync('umount', [m], { stdio: 'pipe' });
  if (root) rmSync(join(root, '..'), { recursive: true, force: true });
  await sshd?.stop();
});

/** A file of `bytes` last modified `ageS` seconds ago. */
function file(path: string, bytes: number, ageS = 0): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, Buffer.alloc(bytes, 1));
  const t = Date.now() / 1000 - ageS;
  utimesSync(path, t, t);
  return path;
}

const OLD = 30 * DAY_S;

/** A fresh directory on the tmpfs: `place` (declared), `sibling` (not declared), `outside`. */
function layout() {
  const base = join(root, `case-${(n += 1)}`);
  const place = join(base, 'place');
  return { base, place, sibling: join(base, 'sibling'), outside: join(base, 'outside') };
}

async function call(inventoryHosts: unknown[], args: Record<string, unknown>, policy?: string) {
  const rt = testRuntime({ inventory: { 'inventory.yaml': JSON.stringify({ hosts: inventoryHosts }) }, ...(policy ? { policy } : {}) });
  const linked = await linkClient(rt);
  try {
    const result = (await linked.client.callTool({ name: 'clean_disk', arguments: args })) as CallToolResult;
    return {
      result, audit: rt.audit.list(),
      text: (result.content[0] as { text: string }).text,
      out: result.structuredContent as Record<string, unknown>,
      failure: (result._meta?.['warden/failure'] ?? {}) as { kind?: string },
    };
  } finally {
    await linked.close();
    await rt.close();
  }
}

const tree = (dir: string): string[] => (readdirSync(dir, { recursive: true }) as string[]).sort();

describe('clean_disk on the local host', () => {
  it('deletes only old regular files in the place, reports them, and leaves everything else', async () => {
    const { place, sibling, outside } = layout();
    const gone = [
      file(join(place, 'old.bin'), 1024 * KiB, OLD),
      file(join(place, 'old two.log'), 512 * KiB, OLD),
      file(join(place, 'sub', 'deep.bin'), 256 * KiB, OLD),
      file(join(place, 'just-over'), 64 * KiB, 7 * DAY_S + 3600),
    ];
    file(join(place, 'new.bin'), 256 * KiB);
    file(join(place, 'just-under'), 64 * KiB, 7 * DAY_S - 3600);
    file(join(sibling, 'old-sibling.bin'), 512 * KiB, OLD);
    const target = file(join(outside, 'target.bin'), 128 * KiB, OLD);
    symlinkSync(target, join(place, 'link-to-outside'));
    lutimesSync(join(place, 'link-to-outside'), Date.now() / 1000 - OLD, Date.now() / 1000 - OLD);
    mkdirSync(join(place, 'empty-old-dir'));
    utimesSync(join(place, 'empty-old-dir'), Date.now() / 1000 - OLD, Date.now() / 1000 - OLD);
    // A filesystem mounted below the place: -xdev keeps find out of it.
    mount(join(place, 'mnt'), '1m');
    file(join(place, 'mnt', 'old-other-fs.bin'), 64 * KiB, OLD);
    const siblingBefore = tree(sibling);

    const r = await call([{ name: 'local', cleanup: [{ path: `${place}/` }] }], { path: `${place}/` });
    expect(r.result.isError, r.text).toBeFalsy();
    const out = r.out as { deleted: number; freedBytes: number; sample: Array<{ path: string; sizeBytes: number }>; before: { usePercent: number; availableBytes: number }; after: { usePercent: number; availableBytes: number } };
    expect(out).toMatchObject({ host: 'local', path: place, olderThanDays: 7, deleted: 4, freedBytes: (1024 + 512 + 256 + 64) * KiB, truncated: false, countsIncomplete: false });
    expect(out.sample).toEqual([
      { path: gone[0], sizeBytes: 1024 * KiB }, { path: gone[1], sizeBytes: 512 * KiB }, { path: gone[2], sizeBytes: 256 * KiB }, { path: gone[3], sizeBytes: 64 * KiB },
    ]);
    expect(tree(place)).toEqual(['empty-old-dir', 'just-under', 'link-to-outside', 'mnt', 'mnt/old-other-fs.bin', 'new.bin', 'sub'].sort());
    expect(statSync(target).size).toBe(128 * KiB);
    expect(tree(sibling)).toEqual(siblingBefore);
    expect(out.after.availableBytes).toBeGreaterThan(out.before.availableBytes);
    expect(out.after.usePercent).toBeLessThan(out.before.usePercent);
    expect(r.text).toMatch(new RegExp(`^local: deleted 4 files older than 7 days in ${place}, 1.8 MiB freed\n`));
    expect(r.audit).toMatchObject([
      { tool: 'clean_disk', phase: 'requested', risk: 'low', decision: 'notify', target: 'local/disk' },
      { tool: 'clean_disk', phase: 'completed', target: 'local/disk' },
    ]);
  });

  it('refuses a path that is not a declared place, deleting nothing, and audits the refusal', async () => {
    const { place, sibling } = layout();
    const kept = file(join(sibling, 'old.bin'), 4 * KiB, OLD);
    const r = await call([{ name: 'local', cleanup: [{ path: place }] }], { path: sibling });
    expect(r.failure.kind).toBe('invalid_input');
    expect(r.text).toContain(`path: "${sibling}" is not a cleanup place of host "local"; its places: ${place} (older than 7 days)`);
    expect(existsSync(kept)).toBe(true);
    expect(r.audit).toMatchObject([{ tool: 'clean_disk', phase: 'failed', errorKind: 'invalid_input' }]);
  });

  it('refuses an age below the place\'s own, deleting nothing', async () => {
    const { place } = layout();
    const kept = file(join(place, 'ten-days.bin'), 4 * KiB, 10 * DAY_S);
    const r = await call([{ name: 'local', cleanup: [{ path: place, olderThanDays: 14 }] }], { path: place, olderThanDays: 7 });
    expect(r.failure.kind).toBe('invalid_input');
    expect(r.text).toMatch(/olderThanDays: 7 is below the 14 days/);
    expect(existsSync(kept)).toBe(true);
  });

  it('refuses every path on a local host that declares no places, saying how to declare them', async () => {
    const { place } = layout();
    const r = await call([], { path: place });
    expect(r.failure.kind).toBe('invalid_input');
    expect(r.text).toMatch(/host "local" declares no cleanup places.*cleanup:/);
  });

  it('a dry run names the place and deletes nothing', async () => {
    const { place } = layout();
    const kept = file(join(place, 'old.bin'), 4 * KiB, OLD);
    const r = await call([{ name: 'local', cleanup: [{ path: place }] }], { path: place }, 'dryRun: true');
    expect(r.failure.kind).toBe('dry_run');
    expect(r.text).toContain(`would delete, on host local, the regular files in ${place} (older than 7 days) last modified more than 7 days ago`);
    expect(existsSync(kept)).toBe(true);
  });

  it('a place that does not exist is target_failed with find\'s own words', async () => {
    const { place } = layout();
    const r = await call([{ name: 'local', cleanup: [{ path: place }] }], { path: place });
    expect(r.failure).toMatchObject({ kind: 'target_failed', exitCode: 1 });
    expect(r.text).toMatch(/find in .* on host local exited 1 after deleting 0 files \(0 bytes\): .*No such file or directory/);
  });
});

describe('clean_disk over SSH', () => {
  it('deletes only the old files whose names match the place\'s patterns', async () => {
    const { base, place } = layout();
    mkdirSync(base);
    writeFileSync(join(base, 'known_hosts'), `${sshd.knownHostsLine}\n`);
    const gone = file(join(place, 'app.log'), 32 * KiB, OLD);
    const kept = file(join(place, 'app.txt'), 32 * KiB, OLD);
    const box = { name: 'box', address: sshd.host, ssh: { port: sshd.port, user: sshd.user, keyPath: sshd.privateKeyPath, knownHostsPath: join(base, 'known_hosts') }, cleanup: [{ path: place, names: ['*.log'] }] };
    const r = await call([box], { host: 'box', path: place });
    expect(r.result.isError, r.text).toBeFalsy();
    expect(r.out).toMatchObject({ host: 'box', deleted: 1, freedBytes: 32 * KiB, sample: [{ path: gone, sizeBytes: 32 * KiB }] });
    expect(r.out.before).not.toBeNull();
    expect([existsSync(gone), existsSync(kept)]).toEqual([false, true]);
  });
});
