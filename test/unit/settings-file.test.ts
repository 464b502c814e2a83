// The policy the daemon loads is read like a config file: a typo pointing WARDEN_POLICY at a pipe or
// a device fails naming it, and never hangs `warden serve` or `warden stdio` at start.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { loadPolicyFile } from '../../src/policy/policy-file.js';
import { DEFAULT_DECISION } from '../../src/shared/tiers.js';
import { tempDir } from '../support/processes.js';

describe('loadPolicyFile', () => {
  it('refuses a named pipe before reading it (an open with no writer would wait forever)', () => {
    const fifo = join(tempDir('settings-file'), 'policy.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(() => loadPolicyFile(fifo, DEFAULT_DECISION)).toThrow(InputError);
    expect(() => loadPolicyFile(fifo, DEFAULT_DECISION)).toThrow(`policy ${fifo}: cannot read: a named pipe, not a file`);
  });

  it('stops reading an endless device at the size cap, and names a directory', () => {
    expect(() => loadPolicyFile('/dev/zero', DEFAULT_DECISION)).toThrow(/policy \/dev\/zero: cannot read: larger than 16 MiB/);
    const dir = join(tempDir('settings-file'), 'policy.d');
    mkdirSync(dir);
    expect(() => loadPolicyFile(dir, DEFAULT_DECISION)).toThrow(/cannot read: a directory, not a file/);
  });

  it('still reads a plain file', () => {
    const path = join(tempDir('settings-file'), 'policy.yaml');
    writeFileSync(path, 'rules: [{ name: no-stops, tool: stop_container, decision: deny }]\n');
    expect(loadPolicyFile(path, DEFAULT_DECISION).rules.map((r) => r.name)).toEqual(['no-stops']);
  });
});
