// `warden tokens create | list | revoke`: bearer tokens for the HTTP gateway. A token is printed
// once, when made; only its hash is stored. Creation and revocation are audited.
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ConfigLoader } from '../config.js';
import { CommandError } from '../errors.js';
import { ROLES, type Role } from '../shared/roles.js';
import { loadRecordsRuntime } from './load-runtime.js';
import { printJson, printLines, table, whoami } from './output.js';

/** What the actions use: the token store and its audited changes, loaded when one runs. */
const tokenModules = async () => ({ ...(await import('../server/auth.js')), ...(await import('../store/tokens.js')) });

export function registerTokenCommands(program: Command, loadConfig: ConfigLoader): void {
  const tokens = program.command('tokens').description('bearer tokens for the HTTP gateway (warden serve)');
  tokens
    .command('create')
    .description('create a token and print it once; only its hash is stored')
    .requiredOption('--principal <name>', 'the name the policy and the audit see')
    .addOption(new Option('--role <role>', 'readonly, operator, admin or alerts').choices(ROLES).makeOptionMandatory())
    .option('--expires <duration>', 'lifetime, e.g. 90m, 12h, 30d, 2w (default: never)')
    .option('--by <name>', 'who creates it, for the audit (default: your user name)', whoami())
    .option('--json', 'machine-readable output')
    .action(async (opts: { principal: string; role: Role; expires?: string; by: string; json?: boolean }) => {
      const { checkPrincipalName, issueToken, parseDuration, TokenNameTaken, TokenStore } = await tokenModules();
      checkPrincipalName(opts.principal);
      const expiresInMs = opts.expires === undefined ? undefined : parseDuration(opts.expires);
      const rt = await loadRecordsRuntime(loadConfig());
      try {
        const { token, record } = issueToken({ tokens: new TokenStore(rt.db), audit: rt.audit }, { principal: opts.principal, role: opts.role, expiresInMs, by: opts.by });
        if (opts.json) return printJson({ principal: record.name, role: record.role, createdAt: record.createdAt, expiresAt: record.expiresAt, token });
        process.stderr.write(`token for ${record.name} (${record.role}), expires ${record.expiresAt ?? 'never'}; it is shown only this once:\n`);
        printLines([token]);
      } catch (err) {
        if (err instanceof TokenNameTaken) throw new CommandError(err.message);
        throw err;
      } finally {
        await rt.close();
      }
    });
  tokens
    .command('list')
    .description('tokens by principal: role, status, created, expires, last used (never the tokens or their hashes)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { TokenStore, statusOf } = await tokenModules();
      const rt = await loadRecordsRuntime(loadConfig());
      const list = new TokenStore(rt.db).list().map((t) => {
        const { id: _id, ...shown } = t;
        return { ...shown, status: statusOf(t) };
      });
      await rt.close();
      if (opts.json) return printJson(list);
      if (list.length === 0) return printLines(['no tokens; make one with warden tokens create --principal NAME --role ROLE']);
      printLines(table(list.map((t) => [t.name, t.role, t.status, `created ${t.createdAt}`, `expires ${t.expiresAt ?? 'never'}`, `last used ${t.lastUsedAt ?? 'never'}`])));
    });
  tokens
    .command('revoke <name>')
    .description('revoke the token of a principal; requests with it get 401 from then on')
    .option('--by <name>', 'who revokes it, for the audit (default: your user name)', whoami())
    .action(async (name: string, opts: { by: string }) => {
      const { revokeToken, TokenStore } = await tokenModules();
      const rt = await loadRecordsRuntime(loadConfig());
      try {
        if (!revokeToken({ tokens: new TokenStore(rt.db), audit: rt.audit }, name, opts.by)) {
          throw new CommandError(`${name} has no token to revoke; warden tokens list shows them`);
        }
        printLines([`token for ${name} revoked`]);
      } finally {
        await rt.close();
      }
    });
}
