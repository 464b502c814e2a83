// `warden chaos run`'s own refusals, before anything is injected: bad flags exit 2 naming them, no
// database is exit 1 naming the path, the opt-in tool left off is exit 2 saying how to turn it on,
// and a run that can list no host says so and exits 1 instead of reporting "nothing opted in".
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { warden } from '../support/cli.js';
import { tempDir } from '../support/processes.js';

function world(config = '') {
  const dir = tempDir('chaos-cli');
  writeFileSync(join(dir, 'warden.yaml'), config);
  // No Docker answers at this socket.
  const env = { WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_CONFIG: join(dir, 'warden.yaml'), DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` };
  return { dir, env, makeDb: () => expect(warden(['tokens', 'create', '--principal', 'alice', '--role', 'readonly'], env).status).toBe(0) };
}

describe('warden chaos run', () => {
  it.each([
    [['--faults', 'kill,boom'], /--faults.*expected a comma-separated list of kill, stop, exit, oom, pause, unhealthy/],
    [['--rounds', '0'], /--rounds.*expected an integer from 1 to 1000/],
    [['--rounds', '1001'], /--rounds.*expected an integer from 1 to 1000/],
    [['--max-concurrent', '2.5'], /--max-concurrent.*expected an integer from 1 to 100/],
    [['--interval', '-1'], /--interval.*expected seconds from 0 to 86400/],
    [['--seed', '4294967296'], /--seed.*expected an integer from 0 to 4294967295/],
  ])('refuses %j, naming the flag (exit 2)', (args, message) => {
    const r = warden(['chaos', 'run', ...args], world().env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exits 1 naming the path when the data dir has no database, and creates none', () => {
    const w = world('tools:\n  enabled: [inject_fault]\n');
    const r = warden(['chaos', 'run', '--dry-run'], w.env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no database at .*warden\.db/);
    expect(existsSync(join(w.dir, 'data', 'warden.db'))).toBe(false);
  });

  it('exits 2 saying how to turn inject_fault on when config tools.enabled does not name it', () => {
    const w = world();
    w.makeDb();
    const r = warden(['chaos', 'run', '--dry-run'], w.env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/needs the opt-in tool inject_fault: add it to config tools\.enabled.*docs\/chaos\.md/);
  });

  it('says no host could be listed, and exits 1, when Docker does not answer', () => {
    const w = world('tools:\n  enabled: [inject_fault]\n');
    w.makeDb();
    const r = warden(['chaos', 'run', '--dry-run', '--json'], w.env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/host local: containers not listed/);
    expect(JSON.parse(r.stdout)).toMatchObject({ dryRun: true, stopped: expect.stringMatching(/no host could be listed/), records: [], candidates: [] });
  });
});
