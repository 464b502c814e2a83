// A new user's first day with the built `warden`: global options wherever they are typed, read-only
// commands that refuse (and create nothing) in a data dir without a database, a default data dir
// that does not depend on the working directory, the old ./data default named when it is left
// behind, tables with headers, and help with examples.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NEEDS_DATABASE } from '../../src/commands/needs-database.js';
import { approveCommand } from '../../src/policy/approval-flow.js';
import { dataDirEnv, warden } from '../support/cli.js';
import { fakeAdapters } from '../support/fake-docker.js';
import { tempDir } from '../support/processes.js';
import { linkClient, testRuntime } from '../support/warden.js';

/** A data dir with a database (the kill switch turned on and off once, each audited: off alone is already so, and writes nothing). */
function started(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir('first-day');
  const env = dataDirEnv(dir);
  for (const state of ['on', 'off']) {
    const r = warden(['killswitch', state, '--reason', 'first start', '--by', 'alice'], env);
    expect(r.status, r.stderr).toBe(0);
  }
  return { dir, env };
}

/** Arguments that make each NEEDS_DATABASE command otherwise valid, so only the missing database can refuse it. */
const ARGS: Record<string, string[]> = {
  'approvals approve': ['apr_x', '--by', 'alice'],
  'approvals deny': ['apr_x', '--by', 'alice'],
  'incidents show': ['inc_0123456789'],
  'incidents validate': ['inc_0123456789', '--note', 'right fix', '--by', 'alice'],
  'incidents unvalidate': ['inc_0123456789', '--reason', 'wrong fix', '--by', 'alice'],
  'changes show': ['chg_0123456789abcdef'],
  'changes rollback': ['chg_0123456789abcdef', '--by', 'alice'],
  'silence remove': ['sil_x', '--by', 'alice'],
  'loop arm': ['--reason', 'fixed', '--by', 'alice'],
  'loop pause': ['--reason', 'deploy', '--by', 'alice'],
  'tokens revoke': ['alice'],
  'tokens rotate': ['alice'],
};

describe('global options', () => {
  it('are accepted after the command as before it', () => {
    const { dir } = started();
    const before = warden(['--data-dir', join(dir, 'data'), 'audit', 'list', '--json']);
    const after = warden(['audit', 'list', '--json', '--data-dir', join(dir, 'data'), '--log-level', 'error']);
    expect(after.status, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toEqual(JSON.parse(before.stdout));
    expect(JSON.parse(after.stdout)).toHaveLength(2);
    writeFileSync(join(dir, 'warden.yaml'), `dataDir: ${join(dir, 'data')}\n`);
    const config = warden(['killswitch', 'status', '--json', '--config', join(dir, 'warden.yaml')], {}, tempDir('elsewhere'));
    expect(config.status, config.stderr).toBe(0);
    expect(JSON.parse(config.stdout)).toMatchObject({ on: false, by: 'alice' });
  });

  it('given twice must agree: different values exit 2 naming both, the same value twice is fine', () => {
    const { dir } = started();
    const r = warden(['--data-dir', join(dir, 'data'), 'audit', 'list', '--data-dir', join(dir, 'other')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--data-dir was also given as "${join(dir, 'data')}"`);
    expect(r.stderr).toContain(join(dir, 'other'));
    expect(existsSync(join(dir, 'other'))).toBe(false);
    expect(warden(['--data-dir', join(dir, 'data'), 'audit', 'list', '--data-dir', join(dir, 'data')]).status).toBe(0);
    expect(warden(['audit', 'list', '--log-level', 'loud', '--data-dir', join(dir, 'data')])).toMatchObject({ status: 2, stderr: expect.stringMatching(/Allowed choices are/) });
  });
});

describe('a command that only reads, in a data dir without a database', () => {
  it.each([...NEEDS_DATABASE, 'audit verify'])('%s fails naming the path and --data-dir, and creates nothing', (command) => {
    const root = tempDir('no-db');
    const dataDir = join(root, 'data');
    const r = warden(['--data-dir', dataDir, ...command.split(' '), ...(ARGS[command] ?? [])], {}, root);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(`no database at ${join(dataDir, 'warden.db')}`);
    expect(r.stderr).toContain('set by --data-dir');
    expect(r.stdout).toBe('');
    expect(readdirSync(root)).toEqual([]);
  });

  it('names WARDEN_DATA_DIR, the config file or the default, whichever chose the directory', () => {
    const root = tempDir('no-db');
    const byEnv = warden(['approvals', 'list'], { WARDEN_DATA_DIR: join(root, 'env') }, root);
    expect(byEnv).toMatchObject({ status: 1, stderr: expect.stringContaining('set by WARDEN_DATA_DIR') });
    writeFileSync(join(root, 'warden.yaml'), 'dataDir: ./file\n');
    const byFile = warden(['incidents', 'list'], {}, root);
    expect(byFile).toMatchObject({ status: 1, stderr: expect.stringContaining(`set by dataDir in ${join(root, 'warden.yaml')}`) });
    const home = tempDir('home');
    const byDefault = warden(['audit', 'verify'], { HOME: home, XDG_DATA_HOME: undefined }, tempDir('cwd'));
    expect(byDefault.status).toBe(1);
    expect(byDefault.stderr).toContain(`no database at ${join(home, '.local/share/warden/warden.db')}`);
    expect(byDefault.stderr).toContain('the default');
    expect(readdirSync(root).sort()).toEqual(['warden.yaml']);
    expect(readdirSync(home)).toEqual([]);
  });

  it('an empty --data-dir or WARDEN_DATA_DIR is refused, not read as the working directory', () => {
    const root = tempDir('empty');
    expect(warden(['--data-dir', '', 'killswitch', 'on'], {}, root)).toMatchObject({ status: 2, stderr: expect.stringMatching(/--data-dir is empty/) });
    expect(warden(['killswitch', 'on'], { WARDEN_DATA_DIR: ' ' }, root)).toMatchObject({ status: 2, stderr: expect.stringMatching(/WARDEN_DATA_DIR is empty/) });
    expect(readdirSync(root)).toEqual([]);
  });

  it('an error quoting a path or an option shows its control characters escaped, never raw to the terminal', () => {
    const root = tempDir('no-db');
    const odd = join(root, 'data\u001b[2J\u009b31m\u202e');
    const r = warden(['--data-dir', odd, 'approvals', 'list'], {}, root);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('data\\x1b[2J\\x9b31m\\u202e');
    expect(r.stderr).not.toMatch(/[\u001b\u009b\u202e]/);
    const usage = warden(['approvals', 'list', '--bogus\u001b[2J'], {}, root);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--bogus\\x1b[2J');
    expect(usage.stderr).not.toMatch(/\u001b/);
  });
});

describe('the default data dir', () => {
  it('is $XDG_DATA_HOME/warden, else ~/.local/share/warden, wherever warden is started', () => {
    const home = tempDir('home');
    const env = { HOME: home, XDG_DATA_HOME: undefined };
    expect(warden(['killswitch', 'on', '--reason', 'test', '--by', 'alice'], env, tempDir('cwd-a')).status).toBe(0);
    expect(existsSync(join(home, '.local/share/warden/warden.db'))).toBe(true);
    const elsewhere = warden(['killswitch', 'status', '--json'], env, tempDir('cwd-b'));
    expect(JSON.parse(elsewhere.stdout)).toMatchObject({ on: true, by: 'alice' });

    const xdg = tempDir('xdg');
    expect(warden(['killswitch', 'on', '--reason', 'test', '--by', 'alice'], { HOME: home, XDG_DATA_HOME: xdg }).status).toBe(0);
    expect(existsSync(join(xdg, 'warden/warden.db'))).toBe(true);
    // The XDG spec: a relative XDG_DATA_HOME is invalid and ignored.
    const relative = warden(['killswitch', 'status', '--json'], { HOME: home, XDG_DATA_HOME: 'rel' }, tempDir('cwd-c'));
    expect(JSON.parse(relative.stdout)).toMatchObject({ on: true });
  });

  it('a relative HOME is refused, not resolved under the working directory', () => {
    const cwd = tempDir('cwd-rel-home');
    const r = warden(['killswitch', 'on', '--reason', 'test', '--by', 'alice'], { HOME: 'rel', XDG_DATA_HOME: undefined }, cwd);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/HOME is "rel", not an absolute path; pass --data-dir/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('warns when ./data/warden.db, the old default, is left behind, naming both paths and how to keep it', () => {
    const cwd = tempDir('old-default');
    expect(warden(['--data-dir', './data', 'killswitch', 'off', '--by', 'alice'], {}, cwd).status).toBe(0);
    const home = tempDir('home');
    const r = warden(['killswitch', 'on', '--reason', 'x', '--by', 'alice'], { HOME: home, XDG_DATA_HOME: undefined }, cwd);
    expect(r.status).toBe(0);
    const fresh = join(home, '.local/share/warden');
    expect(r.stderr).toContain(`warning: using the default data dir ${fresh}; ${join(cwd, 'data', 'warden.db')} (the old default, ./data) is not read`);
    expect(r.stderr).toContain(`pass --data-dir ${join(cwd, 'data')}`);
    expect(r.stderr.match(/warning: using the default/g)).toHaveLength(1);
    // Named explicitly, it is simply used.
    expect(warden(['killswitch', 'status'], { WARDEN_DATA_DIR: './data' }, cwd)).toMatchObject({ status: 0, stderr: '' });
  });

  it("a held call names the data dir in the approve command, which works from any directory", async () => {
    const rt = testRuntime({ policy: 'rules: [{ tool: restart_container, decision: approve }]', adapters: fakeAdapters() });
    const linked = await linkClient(rt);
    const r = await linked.client.callTool({ name: 'restart_container', arguments: { container: 'db' } });
    await linked.close();
    await rt.close();
    const text = (r.content as Array<{ text: string }>)[0]!.text;
    const command = /`(warden [^`]+)`/.exec(text)?.[1];
    expect(command).toMatch(new RegExp(`^warden --data-dir ${rt.config.dataDir} approvals approve apr_`));
    const approved = warden([...command!.split(' ').slice(1), '--by', 'alice'], { HOME: tempDir('home'), XDG_DATA_HOME: undefined }, tempDir('cwd'));
    expect(approved.status, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/approved by alice: restart_container on local\/db/);
  });
});

it.each(['/srv/warden', '/tmp/my data', "/tmp/it's", '/tmp/$(touch pwned)', '/tmp/a\nb'])('the approve command keeps the data dir %j one word for a shell', (dir) => {
  const line = approveCommand('apr_1', dir);
  const words = spawnSync('sh', ['-c', `set -- ${line}; printf '%s\\0' "$@"`], { encoding: 'utf8', cwd: tempDir('sh') });
  expect(words.stdout.split('\0').slice(0, -1)).toEqual(['warden', '--data-dir', dir, 'approvals', 'approve', 'apr_1']);
});

describe('tables', () => {
  it('have a header, one line per row however many lines a value has, and a sentence when empty', () => {
    const { env } = started();
    expect(warden(['incidents', 'list'], env).stdout).toBe('no incidents\n');
    expect(warden(['approvals', 'list'], env).stdout).toBe('no pending approvals\n');
    expect(warden(['silence', 'list'], env).stdout).toBe('no active silences\n');
    expect(warden(['changes', 'list'], env).stdout).toBe('no changes\n');
    const add = warden(['silence', 'add', '--target', 'web-*', '--for', '1h', '--reason', 'deploy\nline two\r\nthree', '--by', 'alice'], env);
    expect(add.status, add.stderr).toBe(0);
    const lines = warden(['silence', 'list'], env).stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+UNTIL\s+BY\s+MATCHERS\s+REASON$/);
    expect(lines[1]).toMatch(/^sil_\S+\s+active\s+\S+\s+alice\s+.*deploy\\nline two\\nthree$/);
    const audit = warden(['audit', 'list'], env).stdout.trimEnd().split('\n');
    expect(audit[0]).toMatch(/^SEQ\s+TIME\s+PRINCIPAL\s+TOOL\s+TARGET\s+PHASE\s+DECISION\s+RESULT$/);
    expect(audit).toHaveLength(4);
  });

  it('show C1 controls (U+009B is a CSI), ESC and bidi marks as escapes, never raw to the terminal', () => {
    const { env } = started();
    const add = warden(['silence', 'add', '--target', 'web-*', '--for', '1h', '--reason', 'a\u001b[2Jb\u009b31mc\u202ed', '--by', 'alice'], env);
    expect(add.status, add.stderr).toBe(0);
    const out = warden(['silence', 'list'], env).stdout;
    expect(out).toMatch(/a\\x1b\[2Jb\\x9b31mc\\u202ed$/m);
    expect(out).not.toMatch(/[\u001b\u009b\u202e]/);
  });

  it('--json answers with the same field names as the records, for confirmations too', () => {
    const { env } = started();
    const { changed, ...on } = JSON.parse(warden(['killswitch', 'on', '--reason', 'x', '--by', 'alice', '--json'], env).stdout);
    expect(changed).toBe(true);
    expect(on).toMatchObject({ on: true, by: 'alice', reason: 'x', effective: true });
    expect(JSON.parse(warden(['killswitch', 'status', '--json'], env).stdout)).toEqual(on);
    const s = JSON.parse(warden(['silence', 'add', '--target', 'web-*', '--for', '1h', '--reason', 'r', '--by', 'alice', '--json'], env).stdout);
    expect(JSON.parse(warden(['silence', 'remove', s.id, '--by', 'bob', '--json'], env).stdout)).toEqual({ id: s.id, status: 'removed', removedBy: 'bob' });
  });
});

describe('help', () => {
  it.each(['', 'approvals', 'audit', 'incidents', 'changes', 'silence', 'killswitch', 'monitors'])('warden %s --help has examples', (cmd) => {
    const r = warden([...cmd.split(' ').filter(Boolean), '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\nExamples:\n {2}warden /);
  });

  it('--by shows its default once, in words', () => {
    const r = warden(['approvals', 'approve', '--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('--by <name> who decides, for the audit and the requester (default: your user name)');
    expect(r.stdout.match(/default/g)).toHaveLength(1);
  });

  it('names the default data dir', () => {
    expect(warden(['--help']).stdout.replace(/\s+/g, ' ')).toContain('default $XDG_DATA_HOME/warden, else ~/.local/share/warden');
  });
});
