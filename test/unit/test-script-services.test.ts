// scripts/quiet-install.sh, which `npm test` uses to install the Debian packages its services need:
// the install runs with service starts refused, and leaves boot-time services as they were. Real
// bash and the real systemctl, acting on a root directory of its own (`systemctl --root`), with an
// install that does what a Debian postinst does (enables its units, asks policy-rc.d to start).
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../support/processes.js';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/quiet-install.sh');
const hasSystemctl = spawnSync('sh', ['-c', 'command -v systemctl']).status === 0;

interface World { root: string; policy: string; log: string }

function world(units: string[], enabledBefore: string[]): World {
  const dir = tempDir('quiet-install');
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  mkdirSync(join(root, 'usr/lib/systemd/system'), { recursive: true });
  for (const u of units) {
    writeFileSync(join(root, 'usr/lib/systemd/system', u), `[Unit]\nDescription=${u}\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n`);
  }
  const w = { root, policy: join(dir, 'policy-rc.d'), log: join(dir, 'install.log') };
  for (const u of enabledBefore) expect(systemctl(w, 'enable', u).status).toBe(0);
  return w;
}

const systemctl = (w: World, ...args: string[]) => spawnSync('systemctl', [`--root=${w.root}`, ...args], { encoding: 'utf8' });
const enabled = (w: World, unit: string): string => systemctl(w, 'is-enabled', unit).stdout.trim();

/** What a postinst does: asks policy-rc.d whether it may start (101: no), enables its units; then `then`. */
function postinst(units: string[], then = 'true'): string {
  return `fake_install() {
    if [ -x "$POLICY_RC_D" ]; then answer=0; "$POLICY_RC_D" ssh start || answer=$?; echo "policy-rc.d answered $answer" >>"$LOG"; else echo "no policy-rc.d" >>"$LOG"; fi
    ${units.map((u) => `systemctl --root="$SYSTEMD_ROOT" enable --quiet ${u} 2>/dev/null`).join('; ') || 'true'}
    ${then}
  }`;
}

function run(w: World, body: string): { status: number | null; stderr: string } {
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `set -euo pipefail; source "${SCRIPT}"; ${body}`], {
    encoding: 'utf8', env: { PATH: process.env.PATH, POLICY_RC_D: w.policy, SYSTEMD_ROOT: w.root, LOG: w.log },
  });
  return { status: r.status, stderr: r.stderr };
}

describe('scripts/quiet-install.sh, on any machine', () => {
  it('refuses service starts during the install, and removes the policy-rc.d it made', () => {
    const w = world([], []);
    const r = run(w, `${postinst([])}; install_quietly fake_install`);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(w.log, 'utf8')).toBe('policy-rc.d answered 101\n');
    expect(existsSync(w.policy)).toBe(false);
  });
});

// The unit checks need a systemctl to act on a root of their own; Debian has one (systemd), a
// container image without systemd does not, and there the script itself leaves units alone.
describe.skipIf(!hasSystemctl)('scripts/quiet-install.sh, with systemctl', () => {

  it('disables the units the install newly enabled, and only those', () => {
    const w = world(['ssh.service', 'nginx.service', 'cron.service', 'postgresql.service'], ['cron.service']);
    const r = run(w, `${postinst(['ssh.service', 'nginx.service', 'cron.service'])}; install_quietly fake_install`);
    expect(r.status, r.stderr).toBe(0);
    expect(['ssh.service', 'nginx.service', 'cron.service', 'postgresql.service'].map((u) => [u, enabled(w, u)])).toEqual([
      ['ssh.service', 'disabled'], ['nginx.service', 'disabled'], ['cron.service', 'enabled'], ['postgresql.service', 'disabled'],
    ]);
    expect(r.stderr).toMatch(/the install enabled nginx\.service at boot; disabling it again/);
    expect(r.stderr).not.toMatch(/cron\.service/);
  });

  it("leaves an administrator's own policy-rc.d in place, untouched", () => {
    const w = world([], []);
    const own = '#!/bin/sh\n# the administrator\'s\nexit 101\n';
    writeFileSync(w.policy, own, { mode: 0o755 });
    const r = run(w, `${postinst([])}; install_quietly fake_install`);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(w.policy, 'utf8')).toBe(own);
  });

  it('cleans up after a failed install and returns its status', () => {
    const w = world(['ssh.service'], []);
    const r = run(w, `${postinst(['ssh.service'], 'return 100')}; if install_quietly fake_install; then echo ok; else echo "failed $?"; fi`);
    expect(r.status, r.stderr).toBe(0);
    expect(enabled(w, 'ssh.service')).toBe('disabled');
    expect(existsSync(w.policy)).toBe(false);
    const again = spawnSync('bash', ['--norc', '--noprofile', '-c', `set -euo pipefail; source "${SCRIPT}"; ${postinst([], 'return 100')}; install_quietly fake_install; echo "past"`], {
      encoding: 'utf8', env: { PATH: process.env.PATH, POLICY_RC_D: w.policy, SYSTEMD_ROOT: w.root, LOG: w.log },
    });
    expect({ status: again.status, stdout: again.stdout }).toEqual({ status: 100, stdout: '' });
  });

  it('cleans up when the install is interrupted by SIGTERM', async () => {
    const w = world(['nginx.service'], []);
    const child = spawn('bash', ['--norc', '--noprofile', '-c', `set -euo pipefail; source "${SCRIPT}"; ${postinst(['nginx.service'], 'echo started >>"$LOG"; sleep 30')}; install_quietly fake_install`], {
      env: { PATH: process.env.PATH, POLICY_RC_D: w.policy, SYSTEMD_ROOT: w.root, LOG: w.log }, stdio: 'ignore', detached: true,
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    for (let i = 0; i < 100 && !(existsSync(w.log) && readFileSync(w.log, 'utf8').includes('started')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(w.policy)).toBe(true);
    // The whole process group, as a terminal's Ctrl-C or a CI timeout reaches the install and the script.
    process.kill(-child.pid!, 'SIGTERM');
    expect(await exited).not.toBe(0);
    // The subshell's trap may still be cleaning up after the outer shell is gone: wait for it, bounded.
    for (let i = 0; i < 200 && (existsSync(w.policy) || enabled(w, 'nginx.service') !== 'disabled'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(w.policy)).toBe(false);
    expect(enabled(w, 'nginx.service')).toBe('disabled');
  });
});
