// Which events a webhook gets: a misspelt or empty `events` is refused naming the field and the
// names, and the README's example config sends escalations to its chat hook.
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { NOTIFY_EVENTS, loadConfig } from '../../src/config.js';
import { listensFor } from '../../src/adapters/webhooks.js';
import { tempDir } from '../support/processes.js';

function loadWithEvents(events: string): () => unknown {
  const dir = tempDir('config');
  writeFileSync(join(dir, 'warden.yaml'), `notify:\n  webhooks:\n    - url: https://hooks.example/warden\n      events: ${events}\n`);
  return () => loadConfig({}, {}, dir);
}

describe('webhook events in the config', () => {
  it('refuses an unknown event name, naming the field, every valid name and the likely one', () => {
    expect(loadWithEvents('[notify, escalations]')).toThrow(
      'notify.webhooks[0].events[1]: unknown event "escalations": the events are notify, approval.requested, approval.decided, escalation, audit.checkpoint; did you mean "escalation"?',
    );
  });

  it('refuses an event name of another case', () => {
    expect(loadWithEvents('[Escalation]')).toThrow(/events\[0\]: unknown event "Escalation".*did you mean "escalation"\?/);
  });

  it('refuses an empty list, which would take nothing', () => {
    expect(loadWithEvents('[]')).toThrow(/notify\.webhooks\[0\]\.events: names no event/);
  });

  it('gives a hook without events every event but audit.checkpoint, escalation included', () => {
    const dir = tempDir('config');
    writeFileSync(join(dir, 'warden.yaml'), 'notify:\n  webhooks:\n    - url: https://hooks.example/warden\n');
    const [hook] = loadConfig({}, {}, dir).notify.webhooks;
    expect(NOTIFY_EVENTS.filter((e) => listensFor(hook!, e))).toEqual(['notify', 'approval.requested', 'approval.decided', 'escalation']);
  });

  it("the README's example: every hook parses, and the chat hook gets escalations", () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const block = /## Configuration[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const notify = (parseYaml(block!) as { notify: unknown }).notify;
    const dir = tempDir('config');
    writeFileSync(join(dir, 'warden.yaml'), JSON.stringify({ notify }));
    const hooks = loadConfig({}, {}, dir).notify.webhooks;
    const chat = hooks.filter((h) => h.format !== 'generic');
    expect(chat.length).toBeGreaterThan(0);
    for (const h of chat) expect(listensFor(h, 'escalation')).toBe(true);
  });
});
