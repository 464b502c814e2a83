// `integrations.slack`: who may decide approvals from Slack buttons, and where warden may send the
// message update. Only the schema; config.ts holds it and resolves the signing secret from the
// environment (never written in the file). It never reads the network.
import { z } from 'zod';
import { LOOP_PRINCIPAL, SYSTEM_PRINCIPAL } from '../shared/roles.js';

/** A Slack user id: U... (or W... on Enterprise Grid), upper-case letters and digits as Slack writes them. */
export const SLACK_USER_ID = /^[UW][A-Z0-9]{2,31}$/;
const SLACK_TEAM_ID = /^T[A-Z0-9]{2,31}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** The same rule as checkPrincipalName (server/auth.ts): a Slack user speaks as this principal. */
const Principal = z
  .string()
  .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'a warden principal: 1-64 letters, digits or . _ @ -')
  .refine((p) => p !== LOOP_PRINCIPAL && p !== SYSTEM_PRINCIPAL, 'reserved for warden itself (the loop and its own recovery)');


/**
 * The host names a response_url may point at. A name, no scheme, port or path: the URL Slack sends is
 * fetched only when its host is one of these, so a forged or odd response_url can never make warden
 * call somewhere else.
 */
const HostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/, 'a lower-case host name or address, no scheme, port or path (IPv6 in brackets)');

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
    .describe("where the message update may be sent: a payload's response_url on any other host is never fetched"),
});
export type SlackConfig = z.infer<typeof SlackConfig>;

export const Integrations = z.strictObject({
  slack: SlackConfig.optional().describe('approve and deny from Slack buttons (docs/slack.md)'),
});
