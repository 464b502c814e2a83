// run_runbook through the real MCP server and guard, on a test inventory whose runbooks run a
// recording program (it appends its argv as JSON to a file) locally and over a real sshd on
// 127.0.0.1. A refused call must leave that file empty: nothing ran.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Runtime } from '../../src/server/runtime.js';
import { dataDirEnv, warden } from '../support/cli.js';
import { writeInventory } from '../support/inventory.js';
import { tempDir } from '../support/processes.js';
import { startSshd, type Sshd } from '../support/sshd.js';
import { linkClient, testRuntime, type Linked } from '../support/warden.js';
import { readInventoryDir } from '../../src/store/inventory-file.js';

// One script, three behaviours chosen by the name it runs under. CommonJS, run by this node.
const SCRIPT = String.raw`
const fs = require('fs');
const path = require('path');
const dir = __dirname;
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify(process.argv.slice(2)) + '\n');
const me = path.basename(process.argv[1]);
if (me === 'record') {
  process.stdout.write('recorded ' + (process.argv.length - 2) + ' args\nDB_PASSWORD=hunter2hunter2\n');
} else if (me === 'fail') {
  for (let i = 1; i <= 15; i += 1) process.stderr.write('problem line ' + i + '\n');
  process.exit(3);
} else if (me === 'sleeper') {
  fs.writeFileSync(path.join(dir, 'sleeper.pid'), String(process.pid));
  setTimeout(() => fs.writeFileSync(path.join(dir, 'sleeper.survived'), 'yes'), 8000);
}
`;

let sshd: Sshd;
let bin: string;
let inventory: Record<string, string>;
const open: Array<Linked | Runtime> = [];

function program(name: string): string {
  const path = join(bin, name);
  writeFileSync(path, `#!${process.execPath}\n${SCRIPT}`);
  chmodSync(path, 0o755);
  return path;
}

/** The test inventory, as JSON (which YAML reads): a local host and `box`, the test sshd. */
function testInventory(): Record<string, string> {
  const knownHosts = join(bin, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
  const [record, fail, sleeper] = ['record', 'fail', 'sleeper'].map(program) as [string, string, string];
  const hosts = [{ name: 'box', address: sshd.host, ssh: { port: sshd.port, user: sshd.user, keyPath: sshd.privateKeyPath, knownHostsPath: knownHosts } }];
  const runbooks = [
    {
      name: 'note', description: 'Records a labelled note.', hosts: ['box', 'local'], risk: 'read', timeoutSeconds: 30,
      argv: [record, '--label', '{label}', '--dir={dir}', '{days}d'],
      params: {
        label: { pattern: '[\\s\\S]+', description: 'any text (only the rules every value obeys apply)' },
        dir: { pattern: '/var/log(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*', description: '/var/log or below' },
        days: { pattern: '[1-9][0-9]?', description: '1 to 99' },
      },
    },
    {
      name: 'clean', description: 'Pretends to clean old logs.', hosts: ['box'], risk: 'medium', timeoutSeconds: 30,
      argv: [record, 'clean', '{dir}', '+{days}'],
      params: { dir: { pattern: '[\\s\\S]+', description: 'a directory' }, days: { pattern: '[1-9][0-9]?', description: '1 to 99' } },
    },
    { name: 'broken', description: 'Always fails.', hosts: ['*'], risk: 'read', timeoutSeconds: 30, argv: [fail] },
    { name: 'slow', description: 'Runs past its timeout.', hosts: ['box'], risk: 'read', timeoutSeconds: 1, argv: [sleeper] },
    { name: 'local-only', description: 'Only here.', hosts: ['local'], risk: 'read', timeoutSeconds: 30, argv: [record, 'here'] },
  ];
  return { 'inventory.yaml': JSON.stringify({ hosts, runbooks }, null, 2) };
}

beforeAll(async () => {
  sshd = await startSshd();
  bin = tempDir('runbooks-bin');
  writeFileSync(join(bin, 'package.json'), '{ "type": "commonjs" }\n');
  inventory = testInventory();
});
afterAll(async () => {
  await sshd?.stop();
});
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
  writeFileSync(join(bin, 'calls.jsonl'), '');
});

async function setup(policy?: string) {
  const rt = testRuntime({ policy, inventory });
  const linked = await linkClient(rt);
  open.push(rt, linked);
  return { rt, client: linked.client };
}

const calls = (): string[][] => {
  const file = join(bin, 'calls.jsonl');
  return (existsSync(file) ? readFileSync(file, 'utf8') : '').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
};
const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;
const failure = (r: unknown) => ((r as CallToolResult)._meta?.['warden/failure'] ?? {}) as { kind?: string; approvalId?: string; exitCode?: number; tail?: string };
/** Exited: no such process, or a zombie nobody has reaped yet (the killed timeout was its parent). */
const isGone = (pid: number): boolean => {
  const stat = `/proc/${pid}/stat`;
  return !existsSync(stat) || readFileSync(stat, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
};
const good = { label: 'two words  here', dir: '/var/log/app', days: '7' };

describe('run_runbook runs exactly the declared argv', () => {
  it('over SSH: each value arrives as one argument, spaces and all, behind the remote timeout', async () => {
    const { rt, client } = await setup();
    const r = await client.callTool({ name: 'run_runbook', arguments: { runbook: 'note', host: 'box', params: good } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(calls()).toEqual([['--label', 'two words  here', '--dir=/var/log/app', '7d']]);
    expect(r.structuredContent).toMatchObject({
      runbook: 'note', host: 'box', risk: 'read', exitCode: 0, untrusted: true,
      argv: ['timeout', '-s', 'KILL', '30', join(bin, 'record'), '--label', 'two words  here', '--dir=/var/log/app', '7d'],
      stdout: 'recorded 4 args\nDB_PASSWORD=[REDACTED]\n',
    });
    expect(text(r)).not.toContain('hunter2');
    expect(rt.audit.list()).toMatchObject([
      { tool: 'run_runbook', phase: 'requested', risk: 'read', decision: 'allow', target: 'box/runbook:note' },
      { tool: 'run_runbook', phase: 'completed' },
    ]);
  });

  it('locally: the same argv, without the timeout prefix', async () => {
    const { client } = await setup();
    const r = await client.callTool({ name: 'run_runbook', arguments: { runbook: 'note', params: good } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(calls()).toEqual([['--label', 'two words  here', '--dir=/var/log/app', '7d']]);
    expect((r.structuredContent as { argv: string[] }).argv).toEqual([join(bin, 'record'), '--label', 'two words  here', '--dir=/var/log/app', '7d']);
  });

  it('a non-zero exit is target_failed with the exit code and the last lines', async () => {
    const { client } = await setup();
    const r = await client.callTool({ name: 'run_runbook', arguments: { runbook: 'broken', host: 'box' } });
    expect(failure(r)).toMatchObject({ kind: 'target_failed', exitCode: 3 });
    expect(failure(r).tail!.split('\n')).toEqual(Array.from({ length: 10 }, (_, i) => `problem line ${i + 6}`));
    expect(text(r)).toMatch(/runbook "broken" on host box exited 3: problem line 15/);
  });

  it('kills a remote program that runs past the runbook\'s timeout', async () => {
    const { client } = await setup();
    const r = await client.callTool({ name: 'run_runbook', arguments: { runbook: 'slow', host: 'box' } });
    expect(failure(r)).toMatchObject({ kind: 'target_failed', exitCode: 137 });
    expect(text(r)).toMatch(/killed by a signal; the runbook's timeout is 1 s/);
    const pid = Number(readFileSync(join(bin, 'sleeper.pid'), 'utf8'));
    expect(isGone(pid)).toBe(true);
  });

  it('a dry run states the exact argv and runs nothing', async () => {
    const { client } = await setup('dryRun: true');
    const r = await client.callTool({ name: 'run_runbook', arguments: { runbook: 'clean', host: 'box', params: { dir: '/srv/a b', days: '3' } } });
    expect(text(r)).toContain(`would run runbook "clean" (risk medium) on host box: argv ${JSON.stringify([join(bin, 'record'), 'clean', '/srv/a b', '+3'])}`);
    expect(calls()).toEqual([]);
  });
});

describe('run_runbook risk is the runbook\'s own', () => {
  it('holds a medium runbook for approval, then runs it once approved', async () => {
    const { rt, client } = await setup();
    const args = { runbook: 'clean', host: 'box', params: { dir: '/srv/logs', days: '14' } };
    const held = await client.callTool({ name: 'run_runbook', arguments: args });
    expect(failure(held)).toMatchObject({ kind: 'approval_required' });
    expect(calls()).toEqual([]);
    expect(rt.audit.list()).toMatchObject([{ phase: 'pending', risk: 'medium', decision: 'approve' }]);
    rt.approvals.decide(failure(held).approvalId!, 'approved', 'alice', null);
    const r = await client.callTool({ name: 'run_runbook', arguments: { ...args, approvalId: failure(held).approvalId } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(calls()).toEqual([['clean', '/srv/logs', '+14']]);
  });

  it('refuses an approval once the runbook it was granted for has been redefined', async () => {
    const { rt, client } = await setup();
    const args = { runbook: 'clean', host: 'box', params: { dir: '/srv/logs', days: '14' } };
    const held = failure(await client.callTool({ name: 'run_runbook', arguments: args }));
    rt.approvals.decide(held.approvalId!, 'approved', 'alice', null);
    const redefined = JSON.parse(inventory['inventory.yaml']!);
    redefined.runbooks.find((r: { name: string }) => r.name === 'clean').argv.push('--also-this');
    rt.inventory.load(readInventoryDir(writeInventory({ 'inventory.yaml': JSON.stringify(redefined) })));
    const r = await client.callTool({ name: 'run_runbook', arguments: { ...args, approvalId: held.approvalId } });
    expect(text(r)).toMatch(/another tool, principal or other arguments/);
    expect(calls()).toEqual([]);
  });

  it('warden policy check reports each runbook\'s risk and decision', () => {
    const dir = tempDir('runbooks-cli');
    const env = dataDirEnv(dir);
    expect(warden(['inventory', 'load', writeInventory(inventory)], env).status).toBe(0);
    const check = (args: object) => JSON.parse(warden(['policy', 'check', '--principal', 'loop', '--tool', 'run_runbook', '--args', JSON.stringify(args)], env).stdout);
    expect(check({ runbook: 'note', host: 'box', params: good })).toMatchObject({ decision: 'allow', risk: 'read' });
    expect(check({ runbook: 'clean', host: 'box', params: { dir: '/srv', days: '1' } })).toMatchObject({ decision: 'approve', risk: 'medium' });
  });
});

describe('run_runbook refuses before anything runs', () => {
  async function refused(args: Record<string, unknown>, message: RegExp) {
    const { rt, client } = await setup();
    const r = await client.callTool({ name: 'run_runbook', arguments: args });
    expect(failure(r).kind, text(r)).toBe('invalid_input');
    expect(text(r)).toMatch(message);
    expect(calls()).toEqual([]);
    expect(rt.audit.list()).toMatchObject([{ tool: 'run_runbook', phase: 'failed', errorKind: 'invalid_input' }]);
  }

  it.each([
    ['a command separator', { label: 'x; touch /tmp/pwned' }, /contains ";"/],
    ['command substitution', { label: '$(touch /tmp/pwned)' }, /contains "\$"/],
    ['backticks', { label: '`touch /tmp/pwned`' }, /contains "`"/],
    ['a newline', { label: 'x\ntouch /tmp/pwned' }, /control character/],
    ['a NUL byte', { label: 'x\0y' }, /control character/],
    ['a single quote', { label: "x' ; touch /tmp/pwned '" }, /contains "'"/],
    ['a double quote', { label: 'x" y' }, /contains "\\""/],
    ['an option: --delete', { label: '--delete' }, /starts with "-"/],
    ['an option: -rf', { label: '-rf' }, /starts with "-"/],
    ['path traversal', { dir: '/var/log/../../etc' }, /"\.\." path segment/],
    ['a pattern that matches only a prefix', { dir: '/var/log/app /etc' }, /does not match the pattern/],
    ['a number out of range', { days: '100' }, /does not match the pattern/],
  ])('a value with %s', async (_what, bad, message) => {
    await refused({ runbook: 'note', host: 'box', params: { ...good, ...bad } }, message);
  });

  it('refuses an injection in a medium runbook too, without asking anyone to approve it', async () => {
    await refused({ runbook: 'clean', host: 'box', params: { dir: '/tmp;reboot', days: '1' } }, /contains ";"/);
  });

  it('refuses an undeclared runbook, naming the declared ones', async () => {
    await refused({ runbook: 'rm-rf', host: 'box' }, /no runbook named "rm-rf"; declared runbooks: broken, clean, local-only, note, slow/);
  });

  it('refuses a host outside the runbook\'s hosts', async () => {
    await refused({ runbook: 'local-only', host: 'box' }, /runbook "local-only" may not run on host "box"; its hosts: local/);
  });

  it('refuses an unknown param and a missing one', async () => {
    await refused({ runbook: 'note', host: 'box', params: { ...good, extra: 'x' } }, /has no param "extra"/);
    writeFileSync(join(bin, 'calls.jsonl'), '');
    for (const x of open.splice(0).reverse()) await x.close();
    await refused({ runbook: 'note', host: 'box', params: { label: 'x', dir: '/var/log' } }, /needs param "days"/);
  });
});
