import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { tempDir } from '../support/processes.js';

describe('config: principals warden keeps for itself', () => {
  it.each(['loop', 'warden'])('refuses stdio.principal %s, naming the field: the gate and the audit would take the client for warden itself', (name) => {
    const dir = tempDir('config');
    writeFileSync(join(dir, 'warden.yaml'), `stdio:\n  principal: ${name}\n`);
    expect(() => loadConfig({}, {}, dir)).toThrow(/stdio\.principal.*reserved for warden itself/);
  });

  it('accepts any other name', () => {
    const dir = tempDir('config');
    writeFileSync(join(dir, 'warden.yaml'), 'stdio:\n  principal: alice\n');
    expect(loadConfig({}, {}, dir).stdio.principal).toBe('alice');
  });
});
