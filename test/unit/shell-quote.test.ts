// Remote argv quoting: whatever an argument holds, the remote POSIX shell must see one literal word.
// Each case is checked by a real /bin/sh here; the SSH integration test repeats it through sshd.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuoteArgv } from '../../src/adapters/ssh.js';

const INJECTIONS: Array<[string, string]> = [
  ['a command separator', 'x; touch /tmp/pwned'],
  ['command substitution', '$(touch /tmp/pwned)'],
  ['backticks', '`touch /tmp/pwned`'],
  ['a newline', 'line1\ntouch /tmp/pwned'],
  ['a single quote', "it's"],
  ['quotes of both kinds', `"'"'"`],
  ['an empty string', ''],
  ['a leading dash', '--gpu-reset'],
  ['a variable', '$HOME ${PATH}'],
  ['globs', '* ?.txt [a-z]'],
  ['redirections and pipes', '> /etc/passwd | cat < /dev/null &'],
  ['a backslash', 'a\\b\\'],
  ['tabs and spaces', ' \t spaced \t '],
  ['unicode', 'naïve ☃'],
];

/** What the shell hands to printf, one word per line between markers. */
function throughShell(argv: string[]): string[] {
  const out = execFileSync('/bin/sh', ['-c', shellQuoteArgv(['printf', '<%s>\\n', ...argv])], { encoding: 'utf8' });
  return [...out.matchAll(/<([\s\S]*?)>\n/g)].map((m) => m[1]!);
}

describe('shellQuoteArgv', () => {
  it('wraps each argument in single quotes and joins with spaces', () => {
    expect(shellQuoteArgv(['nvidia-smi', '-i', '0'])).toBe("'nvidia-smi' '-i' '0'");
  });

  it("writes a single quote as '\\''", () => {
    expect(shellQuoteArgv(["it's"])).toBe("'it'\\''s'");
  });

  it('quotes the empty string as an empty word', () => {
    expect(shellQuoteArgv(['printf', ''])).toBe("'printf' ''");
  });

  it.each(INJECTIONS)('keeps %s as one literal argument', (_what, arg) => {
    expect(throughShell([arg])).toEqual([arg]);
  });

  it('keeps every argument of a mixed argv apart and in order', () => {
    const args = INJECTIONS.map(([, a]) => a);
    expect(throughShell(args)).toEqual(args);
  });

  it('refuses a NUL byte, which no remote argv can carry', () => {
    expect(() => shellQuoteArgv(['a\0b'])).toThrow(/NUL/);
  });

  it('refuses an empty argv', () => {
    expect(() => shellQuoteArgv([])).toThrow();
  });
});
