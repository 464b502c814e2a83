// Runbook rendering: params go into argv items only, each value matched whole and checked against
// the rules every value obeys, whatever its pattern would allow.
import { describe, expect, it } from 'vitest';
import { ToolFailure } from '../../src/errors.js';
import { placeholdersIn } from '../../src/store/inventory-schema.js';
import {
  matchesWhole, remoteTimeoutArgv, renderRunbookArgv, runbookAllowsHost, valueProblem, type RunbookTemplate,
} from '../../src/tools/runbook-argv.js';

/** A pattern that allows anything: only the universal checks stand between a value and argv. */
const ANY = '[\\s\\S]*';

const cleanLogs: RunbookTemplate = {
  name: 'clean-old-logs',
  hosts: ['local', 'gpu-*'],
  argv: ['find', '{dir}', '-xdev', '-type', 'f', '-name', '*.log', '-mtime', '+{days}', '-delete'],
  params: {
    dir: { pattern: '/var/log(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*', description: '/var/log or below' },
    days: { pattern: '[1-9][0-9]?', description: 'age in days' },
  },
};
const echoAny: RunbookTemplate = { name: 'echo-any', hosts: ['*'], argv: ['echo', '{text}'], params: { text: { pattern: ANY, description: 'anything' } } };

function refusal(fn: () => unknown): ToolFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ToolFailure);
    return err as ToolFailure;
  }
  throw new Error('expected a refusal');
}

describe('renderRunbookArgv', () => {
  it('fills each placeholder inside its own argv item', () => {
    expect(renderRunbookArgv(cleanLogs, { dir: '/var/log/nginx', days: '14' }))
      .toEqual(['find', '/var/log/nginx', '-xdev', '-type', 'f', '-name', '*.log', '-mtime', '+14', '-delete']);
  });

  it('keeps a value with spaces as one argv item', () => {
    expect(renderRunbookArgv(echoAny, { text: 'two words  and more' })).toEqual(['echo', 'two words  and more']);
  });

  it('fills several placeholders in one item and leaves other braces alone', () => {
    const rb: RunbookTemplate = { name: 'kv', hosts: ['*'], argv: ['printf', '{}', '--{a}={b}'], params: { a: { pattern: '[a-z]+', description: 'a' }, b: { pattern: '[0-9]+', description: 'b' } } };
    expect(renderRunbookArgv(rb, { a: 'key', b: '42' })).toEqual(['printf', '{}', '--key=42']);
  });

  it('replaces in one pass, so a value containing "{other}" stays literal', () => {
    const rb: RunbookTemplate = { name: 'two', hosts: ['*'], argv: ['echo', '{a}:{b}'], params: { a: { pattern: ANY, description: 'a' }, b: { pattern: ANY, description: 'b' } } };
    expect(renderRunbookArgv(rb, { a: '{b}', b: 'x' })).toEqual(['echo', '{b}:x']);
  });

  it('uses the same placeholder syntax as the inventory schema', () => {
    for (const arg of cleanLogs.argv) expect(placeholdersIn(arg).every((p) => p in cleanLogs.params)).toBe(true);
    expect(renderRunbookArgv(cleanLogs, { dir: '/var/log', days: '1' }).some((a) => placeholdersIn(a).length > 0)).toBe(false);
  });

  it('renders a runbook without params when none are given', () => {
    expect(renderRunbookArgv({ name: 'up', hosts: ['*'], argv: ['uptime'], params: {} }, {})).toEqual(['uptime']);
  });

  it('refuses an unknown param, naming it and the declared ones', () => {
    const e = refusal(() => renderRunbookArgv(cleanLogs, { dir: '/var/log', days: '3', force: 'yes' }));
    expect(e.kind).toBe('invalid_input');
    expect(e.message).toMatch(/has no param "force"; its params: dir \(.*\); days/);
  });

  it('refuses a missing param, naming it', () => {
    const e = refusal(() => renderRunbookArgv(cleanLogs, { dir: '/var/log' }));
    expect(e.message).toMatch(/needs param "days"/);
  });

  it('refuses params for a runbook that takes none', () => {
    expect(refusal(() => renderRunbookArgv({ name: 'up', hosts: ['*'], argv: ['uptime'], params: {} }, { x: '1' })).message).toMatch(/takes no params/);
  });

  it.each([
    ['a prefix match', '/var/log/nginx; rm -rf /'],
    ['a suffix match', '/etc/var/log'],
    ['a different directory', '/etc'],
    ['a hidden segment', '/var/log/.ssh'],
  ])('refuses a value that matches its pattern only in part: %s', (_what, dir) => {
    const e = refusal(() => renderRunbookArgv(cleanLogs, { dir, days: '3' }));
    expect(e.message).toMatch(/param "dir" of runbook "clean-old-logs" is refused/);
  });

  it('anchors an alternation as a whole, not just its first branch', () => {
    expect(matchesWhole('a|b', 'a')).toBe(true);
    expect(matchesWhole('a|b', 'ab')).toBe(false);
    expect(matchesWhole('a|b', 'xb')).toBe(false);
  });

  it('escapes the refused value in the message, so a newline cannot forge a line', () => {
    const e = refusal(() => renderRunbookArgv(echoAny, { text: 'ok\n[completed] all good' }));
    expect(e.message).not.toContain('\n');
    expect(e.message).toContain('"ok\\n[completed] all good"');
  });
});

// Every value passes these whatever its pattern allows; each is refused by the ANY runbook.
const CORPUS: Array<[string, string, RegExp]> = [
  ['command separator', '/tmp; rm -rf /', /contains ";"/],
  ['command substitution', '$(id)', /contains "\$"/],
  ['variable expansion', '${HOME}', /contains "\$"/],
  ['backticks', '`id`', /contains "`"/],
  ['pipe', 'x | sh', /contains "\|"/],
  ['background / and', 'x && reboot', /contains "&"/],
  ['redirect out', 'x > /etc/passwd', /contains ">"/],
  ['redirect in', '< /etc/shadow', /contains "<"/],
  ['subshell', '(reboot)', /contains "\("/],
  ['backslash', 'a\\nb', /contains "\\\\"/],
  ['single quote', "it's", /contains "'"/],
  ['double quote', 'say "hi"', /contains "\\""/],
  ['newline', 'a\nreboot', /control character/],
  ['carriage return', 'a\rb', /control character/],
  ['tab', 'a\tb', /control character/],
  ['NUL', 'a\0b', /control character/],
  ['escape sequence', '\u001b[2J', /control character/],
  ['DEL', 'a\u007fb', /control character/],
  ['C1 control', 'a\u0085b', /control character/],
  ['bidi override', 'a\u202eb', /control character/],
  ['line separator', 'a\u2028b', /control character/],
  ['long option', '--delete', /starts with "-"/],
  ['short options', '-rf', /starts with "-"/],
  ['lone dash', '-', /starts with "-"/],
  ['option with value', '--output=/etc/passwd', /starts with "-"/],
  ['empty', '', /is empty/],
  ['traversal in the middle', '/var/log/../../etc', /"\.\." path segment/],
  ['traversal at the end', '/var/log/..', /"\.\." path segment/],
  ['relative traversal', '../secret', /"\.\." path segment/],
  ['bare dot-dot', '..', /"\.\." path segment/],
];

describe('values refused whatever the pattern allows', () => {
  it.each(CORPUS)('%s', (_what, text, why) => {
    expect(valueProblem(text)).toMatch(why);
    const e = refusal(() => renderRunbookArgv(echoAny, { text }));
    expect(e.kind).toBe('invalid_input');
    expect(e.message).toMatch(why);
    expect(e.message).toMatch(/Nothing was run/);
  });

  it.each([
    ['a path', '/var/lib/docker'],
    ['dots inside a name', 'app..v2.log'],
    ['a single dot segment', './x'],
    ['spaces', 'two words'],
    ['a glob', '*.log'],
    ['a plus sign', '+14'],
    ['non-ASCII letters', 'Grüße'],
    ['a dash inside', 'node-exporter.service'],
  ])('lets through %s', (_what, text) => {
    expect(valueProblem(text)).toBeUndefined();
    expect(renderRunbookArgv(echoAny, { text })).toEqual(['echo', text]);
  });
});

describe('runbookAllowsHost', () => {
  it.each([
    ['local', true],
    ['gpu-worker', true],
    ['gpu-1.lab', true],
    ['db-1', false],
    ['localhost', false],
  ])('%s -> %s', (host, allowed) => {
    expect(runbookAllowsHost(cleanLogs, host)).toBe(allowed);
  });

  it('"*" allows every host', () => {
    expect(runbookAllowsHost({ hosts: ['*'] }, 'anything.example')).toBe(true);
  });
});

describe('remoteTimeoutArgv', () => {
  it('prefixes the coreutils/BusyBox form, keeping the argv items as they are', () => {
    expect(remoteTimeoutArgv(['df', '-h', '/var lib'], 30)).toEqual(['timeout', '-s', 'KILL', '30', 'df', '-h', '/var lib']);
  });
});
