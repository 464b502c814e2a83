// The console link a webhook carries, and what untrusted text next to it can do: in Discord a
// masked link or a line break in a field must not pass for warden's own Console line, and
// server.publicUrl, which the links are built from, is refused when a link under it would not be
// the approval's page.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discordText, formatBody } from '../../src/adapters/webhook-format.js';
import { loadConfig } from '../../src/config.js';
import type { Notification } from '../../src/shared/notifier.js';
import { tempDir } from '../support/processes.js';

const PUBLIC = 'https://warden.example.com';
const REAL_LINK = `${PUBLIC}/console/approvals/apr_abc`;
/** What a hostile model puts in its own arguments: a link whose text is the real console page. */
const DISGUISED = `[${REAL_LINK}](https://evil.example/phish)`;

const request = (args: string, title = 'warden: loop wants restart_container on local/web; approval apr_abc'): Notification => ({
  event: 'approval.requested',
  title,
  fields: { approvalId: 'apr_abc', tool: 'restart_container', target: 'local/web', principal: 'loop', args, reason: 'writes are held' },
});

const discord = (n: Notification, publicUrl: string | undefined = PUBLIC) =>
  (formatBody('discord', n, { id: 'n-1', time: '2026-01-01T00:00:00.000Z', ...(publicUrl ? { publicUrl } : {}) }) as { content: string }).content;

describe('Discord: untrusted text next to the console link', () => {
  it("a masked link in a model's arguments or a title is shown as text, never as a link beside the Console line", () => {
    // args is canonical JSON of what the model sent: brackets and parentheses survive it.
    const content = discord(request(JSON.stringify({ container: 'web', note: DISGUISED }), `restart ${DISGUISED}`));
    expect(content.split('\n')[1]).toBe(`Console: <${REAL_LINK}>`);
    // Discord renders [text](url) in webhook content as a link showing `text`.
    expect(content).not.toMatch(/(?<!\\)\[[^\]]*(?<!\\)\]\(https?:\/\//);
    expect(content).toContain('\\[https://warden.example.com/console/approvals/apr\\_abc\\]\\(https://evil.example/phish\\)');
  });

  it("a line break in an untrusted field or the title (an alert's, the loop's summary) cannot add a second Console line", () => {
    const forged = 'Console: <https://warden.example.com.evil.example/console/approvals/apr_abc>';
    const n: Notification = {
      event: 'escalation',
      title: `warden: incident inc_1 needs approval apr_abc\r\n${forged}`,
      fields: {
        incident: 'inc_1', target: 'local/web', approvalId: 'apr_abc', tool: 'restart_container',
        summary: `restart is safe\n${forged}`, detail: `a\u2028${forged}`, more: `b\r${forged}`,
      },
    };
    const lines = discord(n).split('\n');
    expect(lines.filter((l) => l.startsWith('Console:'))).toEqual([`Console: <${REAL_LINK}>`]);
    // The title, the link, one line a field.
    expect(lines).toHaveLength(2 + Object.keys(n.fields).length);
    expect(lines).toContain('summary: restart is safe\\nConsole: \\<https://warden.example.com.evil.example/console/approvals/apr\\_abc\\>');
  });

  it('a huge title cannot push the Console line past the 2000-character cut', () => {
    const content = discord(request('{}', '*'.repeat(5000)));
    expect(content.split('\n')[1]).toBe(`Console: <${REAL_LINK}>`);
    expect(content.length).toBeLessThanOrEqual(2000);
  });

  it('escapes every character Discord reads as markdown, and the < of an autolink', () => {
    expect(discordText('\\ * _ ~ ` | > # [ ] ( ) < @everyone')).toBe('\\\\ \\* \\_ \\~ \\` \\| \\> \\# \\[ \\] \\( \\) \\< @everyone');
    expect(discordText('||spoiler|| <https://evil> `code`')).toBe('\\|\\|spoiler\\|\\| \\<https://evil\\> \\`code\\`');
  });
});

describe('server.publicUrl as the console links use it', () => {
  const load = (publicUrl: string) => {
    const dir = tempDir('webhook-links-publicurl');
    writeFileSync(join(dir, 'warden.yaml'), `server: { publicUrl: ${JSON.stringify(publicUrl)} }\n`);
    return loadConfig({}, { WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_CONFIG: join(dir, 'warden.yaml') }, dir);
  };

  it.each([
    ['an empty query', 'https://warden.example.com/?'],
    ['a query', 'https://warden.example.com/?a=1'],
    ['an empty fragment', 'https://warden.example.com/#'],
    ['a > in the path', 'https://warden.example.com/a>b'],
    ['a < in the path', 'https://warden.example.com/a<b'],
    ['a space in the path', 'https://warden.example.com/a b'],
    ['a tab (which URL parsing would drop)', 'https://warden.example.com/a\tb'],
    ['a quote', 'https://warden.example.com/a"b'],
    ['a pipe (Slack\'s link separator)', 'https://warden.example.com/a|b'],
    ['a backslash (which URL parsing reads as /)', 'https://warden.example.com\\ops'],
  ])('with %s is refused, naming the field', (_what, publicUrl) => {
    expect(() => load(publicUrl)).toThrow(/server\.publicUrl: no query \(\?\), fragment \(#\), whitespace or < > " \| \\/);
  });

  it.each([
    ['https://user:pw@warden.example.com', /server\.publicUrl: no user:password/],
    ['ftp://warden.example.com', /server\.publicUrl: Invalid URL/],
  ])('%s is refused', (publicUrl, message) => {
    expect(() => load(publicUrl)).toThrow(message);
  });

  it.each([
    ['https://warden.example.com/', 'https://warden.example.com'],
    ['https://warden.example.com//', 'https://warden.example.com'],
    ['HTTPS://Warden.Example.COM:443/ops/', 'https://warden.example.com/ops'],
    ['https://warden.example.com:8443/a/../ops', 'https://warden.example.com:8443/ops'],
    ['https://wärden.example.com/ops', 'https://xn--wrden-gra.example.com/ops'],
  ])('%s is stored as %s (origin and path), and links to the approval page under it', (publicUrl, stored) => {
    const configured = load(publicUrl).server.publicUrl;
    expect(configured).toBe(stored);
    const link = /^Console: <(.*)>$/.exec(discord(request('{}'), configured).split('\n')[1] ?? '')?.[1];
    expect(link).toBe(`${stored}/console/approvals/apr_abc`);
  });
});
