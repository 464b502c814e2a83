import { describe, expect, it } from 'vitest';
import { explainExit } from '../../src/tools/exit-meaning.js';
import {
  MAX_LINE_CHARS, cleanLine, grepLines, grepProblem, keepNewest, sinceToUnixSeconds,
} from '../../src/tools/log-text.js';

/** One text against a pattern, through the same grepLines the tool uses. */
const grepMatcher = (pattern: string, isRegex: boolean, ignoreCase: boolean) => (text: string): boolean =>
  grepLines([{ text }], pattern, isRegex, ignoreCase).length === 1;

describe('sinceToUnixSeconds', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  it.each([
    ['90s', now / 1000 - 90],
    ['10m', now / 1000 - 600],
    ['2h', now / 1000 - 7200],
    ['1d', now / 1000 - 86400],
    ['2026-11-23T10:00:00Z', Date.parse('2026-11-23T10:00:00Z') / 1000],
    ['2026-11-23T10:00:00.123456789+02:00', Date.parse('2026-11-23T08:00:00.123Z') / 1000],
  ])('reads %s', (value, expected) => {
    expect(sinceToUnixSeconds(value, now)).toBe(expected);
  });

  it.each(['yesterday', '10 m', '-5m', '10w', '2026-11-23', '2026-13-45T99:00:00Z', ''])('refuses %j', (value) => {
    expect(sinceToUnixSeconds(value, now)).toBeUndefined();
  });
});

describe('grep', () => {
  it.each([
    ['(x)\\1', /no backreferences or lookaround/],
    ['a(?=b)', /no backreferences or lookaround/],
    ['[unclosed', /not a regular expression warden runs/],
  ])('refuses the regex %j', (pattern, why) => {
    expect(grepProblem(pattern, true)).toMatch(why);
  });

  // A backtracking engine takes longer than any test timeout on these: RE2 answers at once.
  it.each([
    ['((a)+)+$', 'a'.repeat(100_000) + '!', false],
    ['(a|aa)*b', 'a'.repeat(100_000), false],
    ['a*a*a*b', 'a'.repeat(100_000), false],
    ['.*.*.*=b', 'x'.repeat(100_000), false],
    ['(\\w+\\s?)*$', 'word '.repeat(20_000) + '!', true],
    ['((a)+)+$', 'aaaa', true],
  ])('runs %j in linear time over a long line', (pattern, line, matches) => {
    expect(grepProblem(pattern, true)).toBeUndefined();
    expect(grepMatcher(pattern, true, false)(line)).toBe(matches);
  });

  it.each(['^(starting|ready)', 'err(or)?: \\d+', '[a-z]+ timeout'])('accepts the regex %j', (pattern) => {
    expect(grepProblem(pattern, true)).toBeUndefined();
  });

  it('frees every compiled pattern: hundreds of calls leave grep working for the next caller', () => {
    // Without freeing, the 16 MiB regex heap is full after about 350 compiles of this pattern.
    for (let i = 0; i < 250; i += 1) {
      expect(grepProblem('.{99}', true)).toBeUndefined();
      expect(grepLines([{ text: 'x'.repeat(120) }], '.{99}', true, false)).toHaveLength(1);
    }
    expect(grepLines([{ text: 'aab' }, { text: 'c' }], 'a+b', true, false)).toEqual([{ text: 'aab' }]);
  });

  it.each(['\\pL{20}', '\\p{Greek}+', '.{1000}', 'a{5,500}'])('refuses %j, which costs too much to compile', (pattern) => {
    expect(grepProblem(pattern, true)).toMatch(/cost too much to compile/);
  });

  it('refuses a pattern too big for the regex heap, and grep still works after', () => {
    expect(grepProblem('(.{99}){99}', true)).toMatch(/needs more memory than warden gives a regex|not a regular expression warden runs/);
    expect(grepProblem('a+b', true)).toBeUndefined();
    expect(grepLines([{ text: 'aab' }], 'a+b', true, true)).toHaveLength(1);
  });

  it('takes any text literally when it is no regex', () => {
    expect(grepProblem('(a+)+', false)).toBeUndefined();
    expect(grepMatcher('(a+)+', false, false)('x (a+)+ y')).toBe(true);
  });

  it('matches case-insensitively on request only', () => {
    expect(grepMatcher('Error', false, false)('ERROR here')).toBe(false);
    expect(grepMatcher('Error', false, true)('ERROR here')).toBe(true);
    expect(grepMatcher('^error', true, true)('ERROR here')).toBe(true);
  });
});

describe('cleanLine', () => {
  it('drops colours, shows other control characters and cuts long lines', () => {
    expect(cleanLine('\u001b[31mred\u001b[0m ok')).toBe('red ok');
    expect(cleanLine('fake\rover\u2028x')).toBe('fake\ufffdover\ufffdx');
    expect(cleanLine('y'.repeat(MAX_LINE_CHARS + 5))).toBe(`${'y'.repeat(MAX_LINE_CHARS)}… [line cut at ${MAX_LINE_CHARS} characters]`);
  });
});

describe('keepNewest', () => {
  it('keeps the newest lines that fit, counting UTF-8 bytes and a newline each', () => {
    const lines = ['aaa', 'bb', 'é', 'c'].map((text) => ({ text }));
    expect(keepNewest(lines, 8)).toEqual({ kept: [{ text: 'bb' }, { text: 'é' }, { text: 'c' }], dropped: 1 });
    expect(keepNewest(lines, 100).dropped).toBe(0);
  });
});

describe('explainExit', () => {
  const exited = { status: 'exited', running: false, oomKilled: false };
  it.each([
    [0, false, '0: exited normally (success)'],
    [1, false, '1: generic application error; the log says which'],
    [126, false, '126: the command cannot execute (not executable, or permission denied)'],
    [127, false, '127: the command was not found'],
    [137, false, '137 = 128+9: SIGKILL, not proof of an OOM (OOMKilled is false): e.g. docker kill, or a stop that outlived its grace period'],
    [137, true, '137 = 128+9: killed by the kernel OOM killer (OOMKilled is true): it hit its memory limit'],
    [139, false, '139 = 128+11: SIGSEGV, segmentation fault: the program crashed on a bad memory access'],
    [143, false, '143 = 128+15: SIGTERM, asked to stop (docker stop, the orchestrator, or a process inside the container)'],
    [134, false, '134 = 128+6: SIGABRT, aborted (an assertion or abort() in the program)'],
    [129, false, '129 = 128+1: SIGHUP, hangup'],
    [130, false, '130 = 128+2: SIGINT, interrupted (Ctrl-C)'],
    [131, false, '131 = 128+3: SIGQUIT, quit'],
    [141, false, '141 = 128+13: SIGPIPE, broken pipe'],
    [138, false, '138 = 128+10: killed by signal 10'],
    [1, true, '1: generic application error; the log says which; OOMKilled is true: the kernel OOM killer killed a process in it'],
    [42, false, '42: an exit code the application defines'],
  ])('explains exit %i (OOMKilled %s)', (exitCode, oomKilled, expected) => {
    expect(explainExit({ ...exited, exitCode, oomKilled })).toBe(expected);
  });

  it('says a running container has no exit, and a created one never started', () => {
    expect(explainExit({ status: 'running', running: true, exitCode: 0, oomKilled: false })).toBe('still running: there is no exit yet');
    expect(explainExit({ status: 'created', running: false, exitCode: 0, oomKilled: false })).toBe('created but never started');
  });
});
