// `warden tokens create | list | rotate | revoke`: bearer tokens for the HTTP gateway. A token is
// printed once, when made; only its hash is stored. Every change is audited. A principal may hold
// several active tokens; --json speaks of each as { id, principal, role, ... } in every command.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { ConfigLoader } from '../config.js';
import { CommandError, InputError } from '../errors.js';
import { ROLES, type Role } from '../shared/roles.js';
import type { TokenRecord, TokenStore } from '../store/tokens.js';
import { loadRecordsRuntime } from './load-runtime.js';
import { printJson, printLines, printTable, byOption } from './output.js';

/** What the actions use: the token store and its audited changes, loaded when one runs. */
const tokenModules = async () => ({ ...(await import('../server/auth.js')), ...(await import('../store/tokens.js')) });

/** A token as every --json output shows it: never the secret (only `token`, once, at creation) nor its hash. */
const shown = (t: TokenRecord) => ({ id: t.id, principal: t.name, role: t.role, createdAt: t.createdAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt, lastUsedAt: t.lastUsedAt });

function tokenId(value: string): number {
  const n = Number(value);
  if (!/^\d{1,15}$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a token id (a positive integer, see warden tokens list), got "${value}"`);
  return n;
}

/** Why `revoke PRINCIPAL` revoked nothing; an id typed where the principal goes (`revoke 5`) is pointed at --id. */
function noneOfPrincipal(store: Pick<TokenStore, 'ofPrincipal' | 'byId'>, principal: string): string {
  if (store.ofPrincipal(principal).length > 0) return `every token of ${principal} is already revoked; warden tokens list shows them`;
  const asId = /^\d{1,15}$/.test(principal) ? store.byId(Number(principal)) : undefined;
  if (asId) return `${principal} has no token to revoke; did you mean --id ${asId.id}? (token ${asId.id} of ${asId.name}${asId.revokedAt ? ', already revoked' : ''})`;
  return `${principal} has no token to revoke; warden tokens list shows them`;
}

const EXPIRES_HELP = 'lifetime, e.g. 90m, 12h, 30d, 2w, or never (default: 90d)';

export function registerTokenCommands(program: Command, loadConfig: ConfigLoader): void {
  const tokens = program.command('tokens').description('bearer tokens for the HTTP gateway (warden serve)');
  tokens
    .command('create')
    .description('create a token and print it once; only its hash is stored. A principal may hold several')
    .requiredOption('--principal <name>', 'the name the policy and the audit see')
    .addOption(new Option('--role <role>', 'readonly, operator, admin or alerts').choices(ROLES).makeOptionMandatory())
    .option('--expires <duration>', EXPIRES_HELP)
    .addOption(byOption('who creates it, for the audit'))
    .option('--json', 'machine-readable output')
    .action(async (opts: { principal: string; role: Role; expires?: string; by: string; json?: boolean }) => {
      const { checkPrincipalName, issueToken, parseExpiry, TokenStore } = await tokenModules();
      checkPrincipalName(opts.principal);
      const expiresInMs = opts.expires === undefined ? undefined : parseExpiry(opts.expires);
      const rt = await loadRecordsRuntime(loadConfig());
      try {
        const { token, record } = issueToken({ tokens: new TokenStore(rt.db), audit: rt.audit }, { principal: opts.principal, role: opts.role, expiresInMs, by: opts.by });
        if (opts.json) return printJson({ ...shown(record), token });
        process.stderr.write(`token ${record.id} for ${record.name} (${record.role}), expires ${record.expiresAt ?? 'never'}; it is shown only this once:\n`);
        printLines([token]);
      } finally {
        await rt.close();
      }
    });
  tokens
    .command('list')
    .description('every token: id, principal, role, status (and whether it expires within 14 days), created, expires, last used; never a token or its hash')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { TokenStore, statusOf, expiresSoon } = await tokenModules();
      const rt = await loadRecordsRuntime(loadConfig());
      const now = new Date();
      const list = new TokenStore(rt.db).list().map((t) => ({ ...shown(t), status: statusOf(t, now), expiresSoon: expiresSoon(t, now) }));
      await rt.close();
      if (opts.json) return printJson(list);
      printTable(
        ['ID', 'PRINCIPAL', 'ROLE', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED'],
        list.map((t) => [String(t.id), t.principal, t.role, t.expiresSoon ? 'active, expires soon' : t.status, t.createdAt, t.expiresAt ?? 'never', t.lastUsedAt ?? 'never']),
        'no tokens; make one with warden tokens create --principal NAME --role ROLE',
      );
    });
  tokens
    .command('rotate <principal>')
    .description("make a new token with the principal's role and lifetime, print it once; its other active tokens keep working for --overlap, then expire")
    .option('--overlap <duration>', 'how long the old tokens keep working, e.g. 30m, 1h, 1d; 0 ends them now', '1h')
    .option('--expires <duration>', 'lifetime of the new token (default: that of the newest active one), or never')
    .addOption(byOption('who rotates it, for the audit'))
    .option('--json', 'machine-readable output')
    .action(async (principal: string, opts: { overlap: string; expires?: string; by: string; json?: boolean }) => {
      const { checkPrincipalName, parseExpiry, parseOverlap, rotateToken, TokenRotationRefused, TokenStore } = await tokenModules();
      checkPrincipalName(principal, 'principal');
      const overlapMs = parseOverlap(opts.overlap);
      const expiresInMs = opts.expires === undefined ? undefined : parseExpiry(opts.expires);
      const rt = await loadRecordsRuntime(loadConfig());
      try {
        const { token, record, old } = rotateToken({ tokens: new TokenStore(rt.db), audit: rt.audit }, { principal, overlapMs, expiresInMs, by: opts.by });
        if (opts.json) return printJson({ ...shown(record), token, replaced: old.map(shown) });
        const ends = overlapMs === 0 ? 'now' : `at ${old[0]?.expiresAt ?? 'their own expiry'}`;
        process.stderr.write(`token ${record.id} for ${record.name} (${record.role}), expires ${record.expiresAt ?? 'never'}; ` +
          `token${old.length === 1 ? '' : 's'} ${old.map((t) => t.id).join(', ')} end ${ends}. The new token is shown only this once:\n`);
        printLines([token]);
      } catch (err) {
        if (err instanceof TokenRotationRefused) throw new CommandError(err.message);
        throw err;
      } finally {
        await rt.close();
      }
    });
  tokens
    .command('revoke [principal]')
    .description('revoke every token of a principal, or one token with --id; requests with them get 401 from then on')
    .option('--id <id>', 'revoke only this token (see warden tokens list)', tokenId)
    .addOption(byOption('who revokes it, for the audit'))
    .option('--json', 'machine-readable output')
    .action(async (principal: string | undefined, opts: { id?: number; by: string; json?: boolean }) => {
      if ((principal === undefined) === (opts.id === undefined)) throw new InputError('name a principal (all its tokens) or give --id ID (one token), not both');
      const { revokeToken, TokenStore } = await tokenModules();
      const rt = await loadRecordsRuntime(loadConfig());
      try {
        const which = opts.id !== undefined ? { id: opts.id } : { principal: principal! };
        const store = new TokenStore(rt.db);
        const revoked = revokeToken({ tokens: store, audit: rt.audit }, which, opts.by);
        if (revoked.length === 0) {
          throw new CommandError(opts.id !== undefined
            ? `no token ${opts.id} to revoke (unknown or already revoked); warden tokens list shows them`
            : noneOfPrincipal(store, principal!));
        }
        if (opts.json) return printJson(revoked.map(shown));
        const ids = revoked.map((t) => t.id).join(', ');
        printLines([`revoked ${revoked.length === 1 ? 'token' : `${revoked.length} tokens`} of ${revoked[0]!.name}: ${ids}`]);
      } finally {
        await rt.close();
      }
    });
}
