// What an approval request looks like in Slack (buttons, escaping, the console link), in Discord and
// in a generic hook, and the config of integrations.slack: a typo fails naming the field.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { escapeMrkdwn } from '../../src/adapters/slack-blocks.js';
import { responseUrlProblem } from '../../src/adapters/slack-response.js';
import { formatBody } from '../../src/adapters/webhook-format.js';
import { loadConfig } from '../../src/config.js';
import type { Notification } from '../../src/shared/notifier.js';
import { tempDir } from '../support/processes.js';

const EVIL = 'disk full <!channel> <https://evil.example|click here> & <@U0BOSS>';
const request: Notification = {
  event: 'approval.requested',
  title: `warden: loop wants restart_container on local/web; approval apr_abc`,
  fields: { approvalId: 'apr_abc', tool: 'restart_container', target: 'local/web', principal: 'loop', args: JSON.stringify({ container: 'web', note: EVIL }), reason: EVIL },
};
const PUBLIC = 'https://warden.example.com';

type Block = { type: string; text?: { text: string; verbatim?: boolean }; fields?: Array<{ text: string; verbatim?: boolean }>; elements?: Array<Record<string, unknown>> };
const slackBody = (n = request, publicUrl?: string) => formatBody('slack', n, { id: 'n-1', time: '2026-01-01T00:00:00.000Z', publicUrl }) as { text: string; blocks: Block[] };

/** Every text Slack would parse as mrkdwn in the body. */
function mrkdwnTexts(body: { text: string; blocks: Block[] }): string[] {
  return [body.text, ...body.blocks.flatMap((b) => [b.text?.text, ...(b.fields ?? []).map((f) => f.text)]).filter((t): t is string => t !== undefined)];
}

describe('Slack approval requests', () => {
  it('carry Approve (with a confirm dialog) and Deny (danger) buttons whose value is the approval id', () => {
    const actions = slackBody().blocks.find((b) => b.type === 'actions')!;
    expect(actions.elements).toEqual([
      expect.objectContaining({ type: 'button', action_id: 'warden_approve', value: 'apr_abc', style: 'primary', confirm: expect.objectContaining({ title: expect.anything() }) }),
      expect.objectContaining({ type: 'button', action_id: 'warden_deny', value: 'apr_abc', style: 'danger' }),
    ]);
  });

  it('keep an alert annotation with <!channel> and a disguised link as text: no < or > reaches Slack unescaped', () => {
    const body = slackBody();
    const texts = mrkdwnTexts(body);
    expect(texts.join('\n')).toContain('&lt;!channel&gt;');
    expect(texts.join('\n')).toContain('&lt;https://evil.example|click here&gt;');
    for (const t of texts) expect(t).not.toMatch(/[<>]/);
    // verbatim: Slack does not turn a bare URL or a channel name into a link either.
    for (const b of body.blocks) for (const t of [b.text, ...(b.fields ?? [])]) if (t) expect(t.verbatim).toBe(true);
  });

  it('link to the approval page in the console when server.publicUrl is set, and not otherwise', () => {
    const linked = slackBody(request, PUBLIC).blocks.find((b) => b.type === 'actions')!.elements!;
    expect(linked.at(-1)).toMatchObject({ type: 'button', action_id: 'warden_open_console', url: `${PUBLIC}/console/approvals/apr_abc` });
    expect(slackBody().blocks.find((b) => b.type === 'actions')!.elements).toHaveLength(2);
  });

  it('stay within Slack limits for a huge argument list', () => {
    const body = slackBody({ ...request, fields: { ...request.fields, args: '<'.repeat(50_000) } });
    for (const b of body.blocks) {
      if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
      for (const f of b.fields ?? []) expect(f.text.length).toBeLessThanOrEqual(2000);
    }
    expect(body.blocks.length).toBeLessThanOrEqual(50);
  });

  it('keep their fallback text far under Slack\'s 40,000 characters for a huge argument list', () => {
    const body = slackBody({ ...request, title: '<'.repeat(10_000), fields: { ...request.fields, args: '<'.repeat(50_000) } });
    expect(body.text.length).toBeLessThanOrEqual(3000);
    expect(body.text).toMatch(/^\*(&lt;)+…\*\n/);
    expect(body.text).not.toMatch(/[<>]/);
  });
});

describe('Slack bodies of other events', () => {
  const escalation: Notification = {
    event: 'escalation', title: 'incident <!here> on #general', fields: { detail: '<@U0X> see https://evil.example and #ops', approvalId: 'apr_abc' },
  };
  const body = (n = escalation, publicUrl?: string) => formatBody('slack', n, { publicUrl }) as { text: string; blocks: Block[]; parse: string; unfurl_links: boolean; unfurl_media: boolean };

  it('escape their text, and show it in verbatim blocks (top-level text has no verbatim flag), unfurling nothing', () => {
    const b = body();
    expect(b.text).toBe('*incident &lt;!here&gt; on #general*\ndetail: &lt;@U0X&gt; see https://evil.example and #ops\napprovalId: apr_abc');
    expect(b).toMatchObject({ parse: 'none', unfurl_links: false, unfurl_media: false });
    const texts = b.blocks.flatMap((x) => [x.text, ...(x.fields ?? [])]).filter((t) => t !== undefined);
    expect(texts.map((t) => t.text).join('\n')).toContain('&lt;@U0X&gt; see https://evil.example and #ops');
    for (const t of texts) expect(t.verbatim).toBe(true);
    // No buttons but the console link: only the request is decided from Slack.
    expect(JSON.stringify(b.blocks)).not.toContain('warden_approve');
  });

  it('carry the console link as a button, not in the text', () => {
    const b = body(escalation, PUBLIC);
    expect(b.blocks.at(-1)!.elements).toEqual([expect.objectContaining({ action_id: 'warden_open_console', url: `${PUBLIC}/console/approvals/apr_abc` })]);
    expect(b.text).not.toContain(PUBLIC);
  });

  it('stay within Slack limits with a huge field', () => {
    const b = body({ ...escalation, fields: { detail: '<'.repeat(50_000) } });
    expect(b.text.length).toBeLessThanOrEqual(3000);
    for (const x of b.blocks) if (x.text) expect(x.text.text.length).toBeLessThanOrEqual(3000);
  });
});

describe('escapeMrkdwn', () => {
  it('cuts after escaping without splitting an entity', () => {
    expect(escapeMrkdwn('a<bc', 5)).toBe('a…');
    expect(escapeMrkdwn('a<bc', 6)).toBe('a&lt;…');
    expect(escapeMrkdwn('a<bc', 7)).toBe('a&lt;bc');
  });
});

describe('responseUrlProblem', () => {
  it.each([
    ['https://hooks.slack.com/actions/T1/2/x', undefined],
    ['https://HOOKS.slack.com/actions/T1/2/x', undefined],
    ['https://hooks.slack.com:443/actions/T1/2/x', undefined],
    ['http://hooks.slack.com/actions/T1/2/x', /must be https/],
    ['https://hooks.slack.com.evil.example/x', /not in integrations\.slack\.responseUrlHosts/],
    ['https://hooks.slack.com%2eevil.example/x', /not in|not a URL/],
    ['https://hooks.slack.com@evil.example/x', /credentials/],
    ['https://hooks.slack.com./x', /not in/],
    ['https://xn--hooks-slack-com/x', /not in/],
    ['https://evil.example/x?h=hooks.slack.com', /not in/],
    ['https://user:pw@hooks.slack.com/x', /credentials/],
    ['ftp://hooks.slack.com/x', /must be https/],
    // An entry without a port allows the scheme's default only: Slack's URLs never name one.
    ['https://hooks.slack.com:8443/actions/T1/2/x', /port 8443 on hooks\.slack\.com: .*default port only/],
    ['https://hooks.slack.com:22/actions/T1/2/x', /port 22/],
    ['http://127.0.0.1/x', undefined],
    ['http://127.0.0.1:9/x', /port 9/],
    ['http://127.0.0.1:8080/x', undefined],
    ['http://127.0.0.1:8081/x', /port 8081/],
    ['http://[::1]:8080/x', /not in/],
    ['not a url', /not a URL/],
  ])('%s -> %s', (url, problem) => {
    const got = responseUrlProblem(url, ['hooks.slack.com', '127.0.0.1', '127.0.0.1:8080']);
    if (problem) expect(got).toMatch(problem);
    else expect(got).toBeUndefined();
  });
});

describe('Discord and generic hooks', () => {
  it('Discord: a console line under the title, and no mention ever pings', () => {
    const body = formatBody('discord', { ...request, fields: { ...request.fields, args: 'x'.repeat(5000) } }, { publicUrl: PUBLIC }) as { content: string; allowed_mentions: unknown };
    expect(body.content.split('\n')[1]).toBe(`Console: <${PUBLIC}/console/approvals/apr_abc>`);
    expect(body.content.length).toBeLessThanOrEqual(2000);
    expect(body.allowed_mentions).toEqual({ parse: [] });
  });

  it('generic: a consoleUrl key, only with a publicUrl', () => {
    expect(formatBody('generic', request, { publicUrl: PUBLIC })).toMatchObject({ consoleUrl: `${PUBLIC}/console/approvals/apr_abc`, approvalId: 'apr_abc' });
    expect(formatBody('generic', request)).not.toHaveProperty('consoleUrl');
  });

  it('generic: a field named consoleUrl cannot stand in for the link', () => {
    const body = formatBody('generic', { ...request, fields: { ...request.fields, consoleUrl: 'https://evil.example' } }, { publicUrl: PUBLIC });
    expect(body).toMatchObject({ consoleUrl: `${PUBLIC}/console/approvals/apr_abc`, fieldConsoleUrl: 'https://evil.example' });
  });
});

describe('integrations.slack config', () => {
  const load = (yaml: string, env: Record<string, string> = {}) => {
    const dir = tempDir('slack-config');
    writeFileSync(join(dir, 'warden.yaml'), yaml);
    return loadConfig({}, { ...env, WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_CONFIG: join(dir, 'warden.yaml') }, dir);
  };

  it('refuses, naming the field, a user id that is no Slack id, no users, warden\'s own principals, a bad team or response host', () => {
    for (const [yaml, field] of [
      ['users: { ada: ada }', /integrations\.slack\.users\.ada/],
      ['users: { "@ada": ada }', /integrations\.slack\.users/],
      ['users: {}', /integrations\.slack\.users/],
      ...['loop', 'warden', 'loop-n1', 'chaos'].map((p) => [`users: { U0123ABCD: ${p} }`, /integrations\.slack\.users\.U0123ABCD/] as const),
      ['users: { U0123ABCD: ada }, teamId: acme', /integrations\.slack\.teamId/],
      ['users: { U0123ABCD: ada }, responseUrlHosts: ["https://hooks.slack.com"]', /integrations\.slack\.responseUrlHosts/],
      ['users: { U0123ABCD: ada }, responseUrlHosts: ["hooks.slack.com:70000"]', /integrations\.slack\.responseUrlHosts/],
      ['users: { U0123ABCD: ada }, signingSecretEnv: "not a name"', /integrations\.slack\.signingSecretEnv/],
    ] as const) {
      expect(() => load(`integrations: { slack: { ${yaml} } }`), yaml).toThrow(field);
    }
  });

  it('takes response hosts with a port, IPv6 ones in brackets', () => {
    const c = load('integrations: { slack: { users: { U0123ABCD: ada }, responseUrlHosts: [hooks.slack.com, "127.0.0.1:8080", "[::1]:9000"] } }');
    expect(c.integrations.slack!.responseUrlHosts).toEqual(['hooks.slack.com', '127.0.0.1:8080', '[::1]:9000']);
  });

  it('reads the signing secret from the variable it names, never from the file', () => {
    const c = load('integrations: { slack: { users: { U0123ABCD: ada } } }', { WARDEN_SLACK_SIGNING_SECRET: 's3cret' });
    expect(c.secrets.slackSigningSecret).toBe('s3cret');
    expect(c.integrations.slack).toMatchObject({ users: { U0123ABCD: 'ada' }, responseUrlHosts: ['hooks.slack.com'] });
    expect(load('integrations: { slack: { users: { U0123ABCD: ada } } }', { WARDEN_SLACK_SIGNING_SECRET: '' }).secrets.slackSigningSecret).toBeUndefined();
    expect(() => load('integrations: { slack: { signingSecret: abc, users: { U0123ABCD: ada } } }')).toThrow(/integrations\.slack.*signingSecret/);
  });

  it.each([
    ['README.md', /## Configuration[\s\S]*?```yaml\n([\s\S]*?)```/],
    ['docs/slack.md', /## 2\. Configure warden[\s\S]*?```yaml\n([\s\S]*?)```/],
  ])("%s: the example's integrations block loads", (file, pattern) => {
    const block = pattern.exec(readFileSync(resolve(import.meta.dirname, '../..', file), 'utf8'))?.[1];
    const { integrations } = parseYaml(block!) as { integrations: unknown };
    const c = load(stringifyYaml({ integrations }));
    expect(Object.keys(c.integrations.slack!.users).length).toBeGreaterThan(0);
  });

  it.each([
    ['a user name instead of an id', 'users: { ada.lovelace: ada }', /integrations\.slack\.users\.ada\.lovelace: not a Slack user id/],
    ['a reserved principal', 'users: { U0123ABCD: loop }', /integrations\.slack\.users\.U0123ABCD: reserved/],
    ['a principal with a space', 'users: { U0123ABCD: "ada l" }', /integrations\.slack\.users\.U0123ABCD: a warden principal/],
    ['no user at all', 'users: {}', /integrations\.slack\.users: maps no Slack user/],
    ['a team id of another shape', 'users: { U0123ABCD: ada }, teamId: acme', /integrations\.slack\.teamId/],
    ['a response host with a scheme', 'users: { U0123ABCD: ada }, responseUrlHosts: ["https://hooks.slack.com"]', /integrations\.slack\.responseUrlHosts\[0\]/],
    ['a response host with a path', 'users: { U0123ABCD: ada }, responseUrlHosts: ["hooks.slack.com/actions"]', /integrations\.slack\.responseUrlHosts\[0\]/],
    ['a response port out of range', 'users: { U0123ABCD: ada }, responseUrlHosts: ["127.0.0.1:70000"]', /integrations\.slack\.responseUrlHosts\[0\]: a port is 1-65535/],
    ['a response port 0', 'users: { U0123ABCD: ada }, responseUrlHosts: ["127.0.0.1:0"]', /integrations\.slack\.responseUrlHosts\[0\]/],
    ['a typo', 'users: { U0123ABCD: ada }, teamID: T0123', /unknown key "integrations\.slack\.teamID"; did you mean "teamId"/],
  ])('refuses %s, naming the field', (_what, slack, message) => {
    expect(() => load(`integrations: { slack: { ${slack} } }`)).toThrow(message);
  });
});
