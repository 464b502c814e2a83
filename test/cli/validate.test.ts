// `warden config check` and `warden policy validate`: check before you apply. Each reads only:
// the tests prove that no data dir (the configured one, or the default under HOME) appears.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { warden } from '../support/cli.js';
import { tempDir } from '../support/processes.js';

/** A fresh dir with its own HOME, so the default data dir (under HOME) would show if it were made. */
function place(): { dir: string; env: NodeJS.ProcessEnv; home: string } {
  const dir = tempDir('cli-validate');
  const home = join(dir, 'home');
  mkdirSync(home);
  return { dir, home, env: { HOME: home } };
}

function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

const GOOD_POLICY = 'rules:\n  - tool: restart_container\n    decision: approve\n';
const SERVICES = 'services:\n  - { name: api, host: local, container: api }\n';

function nothingCreated(dir: string, home: string): void {
  expect(existsSync(join(dir, 'data'))).toBe(false);
  expect(existsSync(join(home, '.local'))).toBe(false);
}

describe('warden config check', () => {
  it('prints ok, the file, and where each setting came from, and creates no data dir', () => {
    const { dir, env, home } = place();
    write(dir, { 'conf/warden.yaml': 'dataDir: ../data\npolicy: policy.yaml\ninventory: inv\n', 'conf/policy.yaml': GOOD_POLICY, 'conf/inv/s.yaml': SERVICES });
    const r = warden(['config', 'check', join(dir, 'conf', 'warden.yaml')], { ...env, WARDEN_LOG_LEVEL: 'error' }, dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`ok: ${join(dir, 'conf', 'warden.yaml')}`);
    expect(r.stdout).toMatch(new RegExp(`^dataDir +${join(dir, 'data')} +file$`, 'm'));
    expect(r.stdout).toMatch(/^logLevel +error +env$/m);
    expect(r.stdout).toMatch(/^policy +.*policy\.yaml \(1 rules, 0 limits\) +file$/m);
    expect(r.stdout).toMatch(/^inventory +.*inv \(0 hosts, 1 services, 0 runbooks\) +file$/m);
    nothingCreated(dir, home);
  });

  it('without FILE checks the config warden would use: WARDEN_CONFIG', () => {
    const { dir, env } = place();
    write(dir, { 'a.yaml': 'logLevel: debug\n' });
    const r = warden(['config', 'check'], { ...env, WARDEN_CONFIG: join(dir, 'a.yaml') }, dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^config +${join(dir, 'a.yaml')} +env$`, 'm'));
  });

  it('a typo in a key exits 2 naming the field and the key it probably meant, and creates nothing', () => {
    const { dir, env, home } = place();
    write(dir, { 'warden.yaml': 'logLevle: debug\nserver:\n  prot: 8080\n' });
    const r = warden(['config', 'check'], env, dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown key "logLevle"; did you mean "logLevel"\?/);
    expect(r.stderr).toMatch(/unknown key "server\.prot"; did you mean "port"\?/);
    expect(r.stdout).toBe('');
    nothingCreated(dir, home);
  });

  it('lists every problem of the config, its policy file and its inventory in one run, each with its field', () => {
    const { dir, env, home } = place();
    write(dir, {
      'warden.yaml': 'policy: p.yaml\ninventory: inv\ntools:\n  disabled: [restart_contaner]\n',
      'p.yaml': 'rules:\n  - tool: restart_container\n    decison: allow\n',
      'inv/s.yaml': 'services:\n  - { name: api, host: local, ownr: me }\n',
    });
    const r = warden(['config', 'check', '--json'], env, dir);
    expect(r.status).toBe(2);
    const report = JSON.parse(r.stdout) as { valid: boolean; problems: string[] };
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^config tools\.disabled: "restart_contaner" names no tool/),
      expect.stringMatching(/^policy: unknown key "rules\[0\]\.decison"; did you mean "decision"\?/),
      expect.stringMatching(/^inventory: s\.yaml: unknown key "services\[0\]\.ownr"; did you mean "owner"\?/),
    ]));
    nothingCreated(dir, home);
  });

  it('a named pipe, /dev/zero or a directory is refused, never waited on or read without end; /dev/null is an empty config', () => {
    const { dir, env, home } = place();
    const fifo = join(dir, 'fifo.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const [file, why] of [[fifo, /a named pipe, not a file/], ['/dev/zero', /larger than 16 MiB/], [dir, /a directory, not a file/]] as const) {
      const r = warden(['config', 'check', file], env, dir);
      expect(r.status, `${file}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(why);
    }
    expect(warden(['config', 'check', '/dev/null'], env, dir).status).toBe(0);
    nothingCreated(dir, home);
  });

  it('a loop of links is named as one, not as "no such file"', () => {
    const { dir, env } = place();
    symlinkSync(join(dir, 'b.yaml'), join(dir, 'a.yaml'));
    symlinkSync(join(dir, 'a.yaml'), join(dir, 'b.yaml'));
    const r = warden(['config', 'check', join(dir, 'a.yaml')], env, dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a\.yaml: cannot read: ELOOP/);
  });

  it('a config file that does not exist exits 2 naming it', () => {
    const { dir, env } = place();
    const r = warden(['config', 'check', join(dir, 'nope.yaml')], env, dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nope\.yaml: no such file/);
  });
});

describe('warden policy validate', () => {
  it('a valid file: ok with its counts, shadowed rules as warnings, exit 0, no data dir', () => {
    const { dir, env, home } = place();
    write(dir, { 'p.yaml': 'rules:\n  - tool: "*"\n    decision: allow\n  - name: never\n    tool: restart_container\n    decision: deny\n' });
    const r = warden(['policy', 'validate', join(dir, 'p.yaml')], env, dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ok: ${join(dir, 'p.yaml')} \\(2 rules, 0 limits, hash [0-9a-f]{12}\\)$`, 'm'));
    expect(r.stdout).toMatch(/^warning: never: never matches: rules\[0\] \(earlier\) matches every call it does$/m);
    nothingCreated(dir, home);
  });

  it('a named pipe or /dev/zero exits 2 without hanging, also when the config names it', () => {
    const { dir, env } = place();
    const fifo = join(dir, 'p.yaml');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(warden(['policy', 'validate', fifo], env, dir)).toMatchObject({ status: 2, stderr: expect.stringMatching(/p\.yaml: cannot read: a named pipe/) });
    expect(warden(['policy', 'validate', '/dev/zero'], env, dir)).toMatchObject({ status: 2, stderr: expect.stringMatching(/larger than 16 MiB/) });
    write(dir, { 'warden.yaml': 'policy: p.yaml\n' });
    expect(warden(['config', 'check', '--json'], env, dir)).toMatchObject({ status: 2, stdout: expect.stringMatching(/a named pipe/) });
  });

  it('a rule name with an escape sequence is shown escaped in its warning, by config check too', () => {
    const { dir, env } = place();
    write(dir, { 'p.yaml': 'rules:\n  - tool: "*"\n    decision: allow\n  - name: "x\\e[2J\\u009by"\n    tool: restart_container\n    decision: deny\n', 'warden.yaml': 'policy: p.yaml\n' });
    for (const args of [['policy', 'validate', 'p.yaml'], ['config', 'check']]) {
      const r = warden(args, env, dir);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^warning: (policy: )?x\\x1b\[2J\\x9by: never matches/m);
      expect(r.stdout).not.toMatch(/[\u001b\u009b]/);
    }
  });

  it('reads no config: a broken ./warden.yaml does not stop it', () => {
    const { dir, env } = place();
    write(dir, { 'warden.yaml': 'nonsense: [\n', 'p.yaml': GOOD_POLICY });
    expect(warden(['policy', 'validate', 'p.yaml'], env, dir).status).toBe(0);
  });

  it('an unknown field exits 2 with its path and the field it probably meant', () => {
    const { dir, env, home } = place();
    write(dir, { 'p.yaml': 'rules:\n  - tool: restart_container\n    decision: allow\n    resaon: x\n' });
    const r = warden(['policy', 'validate', join(dir, 'p.yaml')], env, dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^ {2}unknown key "rules\[0\]\.resaon"; did you mean "reason"\?$/m);
    nothingCreated(dir, home);
  });

  it('an unknown tool exits 2 naming the field and the tool it probably meant', () => {
    const { dir, env } = place();
    write(dir, { 'p.yaml': 'limits:\n  - tool: restart_contaner\n    max: 2\n' });
    const r = warden(['policy', 'validate', join(dir, 'p.yaml'), '--json'], env, dir);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: false, problems: [expect.stringMatching(/^limits\[0\]\.tool: "restart_contaner" names no tool; did you mean "restart_container"\?/)] });
  });
});
