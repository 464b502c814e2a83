// `integrations.slack`: who may decide approvals from Slack buttons, and where warden may send the
// message update. Only the schema; config.ts holds it and resolves the signing secret from the
// environment (never written in the file). It never reads the network.
import { z } from 'zod';
import { isReservedPrincipal } from '../shared/roles.js';

/** A Slack user id: U... (or W... on Enterprise Grid), upper-case letters and digits as Slack writes them. */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,31}$/;
const SLACK_TEAM_ID = /^T[A-Z0-9]{2,31}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** The same rule as checkPrincipalName (server/auth.ts): a Slack user speaks as this principal. */
const Principal = z
  .string()
  .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'a warden principal: 1-64 letters, digits or . _ @ -')
  .refine((p) => !isReservedPrincipal(p), 'reserved for warden itself (the loop, its first level, chaos runs and its own recovery)');


/**
 * Where a response_url may point: `host` (the scheme's default port only: 443, or 80 for loopback
 * http) or `host:port` (that port only). No scheme or path: the URL Slack sends is fetched only
 * when its host and port are one of these, so a forged or odd response_url can never make warden
 * call somewhere else, nor another port of an allowed host.
 */
const HostName = z
  .string()
  .min(1)
  .max(259)
  .regex(/^(?:[a-z0-9.-]{1,253}|\[[0-9a-f:.]+\])(?::[1-9][0-9]{0,4})?$/, 'a lower-case host name or address, with :port only for a port other than the default; no scheme or path (IPv6 in brackets)')
  .refine((h) => { const port = /:([0-9]+)$/.exec(h.startsWith('[') ? h.slice(h.indexOf(']')) : h)?.[1]; return !port || Number(port) <= 65535; }, 'a port is 1-65535');

export const SlackConfig = z.strictObject({
  signingSecretEnv: z
    .string()
    .regex(ENV_NAME, 'an environment variable name (A-Z, 0-9, _)')
    .default('WARDEN_SLACK_SIGNING_SECRET')
    .describe("the variable holding the Slack app's signing secret (Basic Information, App Credentials)"),
  users: z
    .record(z.string(), Principal)
    .superRefine((users, ctx) => {
      const ids = Object.keys(users);
      if (ids.length === 0) ctx.addIssue({ code: 'custom', message: 'maps no Slack user: every button press would be refused; name at least one' });
      // Checked here rather than as the record's key schema, whose issue would not say what was expected.
      for (const id of ids) {
        if (!SLACK_USER_ID.test(id)) ctx.addIssue({ code: 'custom', path: [id], message: 'not a Slack user id: expected one such as U0123ABCD (profile, "Copy member ID"), not a name or an @handle' });
      }
    })
    .describe('Slack user id -> the warden principal the decision is made and audited under; anyone else is refused'),
  teamId: z.string().regex(SLACK_TEAM_ID, 'a Slack workspace id such as T0123ABCD').optional()
    .describe('when set, presses from any other workspace are refused'),
  responseUrlHosts: z.array(HostName).min(1).default(['hooks.slack.com'])
    .describe("where the message update may be sent (host, or host:port for another port than the default): a payload's response_url elsewhere is never fetched"),
});
export type SlackConfig = z.infer<typeof SlackConfig>;

export const Integrations = z.strictObject({
  slack: SlackConfig.optional().describe('approve and deny from Slack buttons (docs/slack.md)'),
});
