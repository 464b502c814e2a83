// The live policy: a file replaced at any moment after the load is seen, listeners hear each change
// that took effect (not a broken file, not a rewrite with the same content), and close stops it all.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { loadPolicyFile, type Policy } from '../../src/policy/policy-file.js';
import { PolicyHolder } from '../../src/policy/policy-holder.js';
import { DEFAULT_DECISION } from '../../src/shared/tiers.js';
import { tempDir } from '../support/processes.js';

const holders: PolicyHolder[] = [];
afterEach(() => {
  for (const h of holders.splice(0)) h.close();
});

function holder(text: string): { h: PolicyHolder; path: string } {
  const path = join(tempDir('policy-holder'), 'policy.yaml');
  writeFileSync(path, text);
  const h = new PolicyHolder({ path, load: () => loadPolicyFile(path, DEFAULT_DECISION), log: silentLogger, pollMs: 50 });
  holders.push(h);
  return { h, path };
}

const DENY_STOPS = 'rules: [{ name: no-stops, tool: stop_container, decision: deny }]\n';

describe('PolicyHolder', () => {
  // watchFile's first look is taken after watch() returns: a replace before it would never be seen.
  it('sees a file replaced between the load and the start of the watch', async () => {
    const { h, path } = holder('{}');
    writeFileSync(path, DENY_STOPS);
    h.watch();
    await vi.waitFor(() => expect(h.current().rules.map((r) => r.name)).toEqual(['no-stops']), { timeout: 5_000, interval: 20 });
  });

  it('tells listeners of a change that took effect, not of a broken file or the same content again, until removed', async () => {
    const { h, path } = holder('{}');
    const heard: Policy[] = [];
    const stop = h.onChange((p) => heard.push(p));
    expect(h.changeListenerCount).toBe(1);
    h.watch();
    writeFileSync(path, DENY_STOPS);
    await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 5_000, interval: 20 });
    expect(heard[0]!.hash).toBe(h.current().hash);
    writeFileSync(path, `# the same rules\n${DENY_STOPS}`);
    writeFileSync(path, 'rules: [{ tool: stop_container, decision: nonsense }]\n');
    await vi.waitFor(() => expect(h.lastError()).toMatch(/decision/), { timeout: 5_000, interval: 20 });
    expect(heard).toHaveLength(1);
    stop();
    expect(h.changeListenerCount).toBe(0);
    writeFileSync(path, '{}');
    await vi.waitFor(() => expect(h.lastError()).toBeUndefined(), { timeout: 5_000, interval: 20 });
    expect(heard).toHaveLength(1);
  });

  it('reports a refused file once, however many times it is looked at, and a different refusal again', async () => {
    const path = join(tempDir('policy-holder'), 'policy.yaml');
    writeFileSync(path, '{}');
    const reloads: string[] = [];
    const logged: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => { logged.push(JSON.parse(line).msg as string); } });
    const h = new PolicyHolder({
      path, load: () => loadPolicyFile(path, DEFAULT_DECISION), log, pollMs: 50,
      onReload: (r) => reloads.push(r.ok ? 'ok' : 'failed'),
    });
    holders.push(h);
    h.watch();
    writeFileSync(path, 'rules: [{ tool: stop_container, decision: nonsense }]\n');
    await vi.waitFor(() => expect(h.lastError()).toMatch(/decision/), { timeout: 5_000, interval: 20 });
    // Saved again unchanged, and looked at by the watcher and the first look: still one refusal.
    writeFileSync(path, 'rules: [{ tool: stop_container, decision: nonsense }]\n ');
    await vi.waitFor(() => expect(logged).toContain('policy file still invalid, already reported'), { timeout: 5_000, interval: 20 });
    expect(reloads).toEqual(['failed']);
    writeFileSync(path, 'rules: [{ tool: stop_container, decison: deny }]\n');
    await vi.waitFor(() => expect(h.lastError()).toMatch(/decison/), { timeout: 5_000, interval: 20 });
    expect(reloads).toEqual(['failed', 'failed']);
  });
});
