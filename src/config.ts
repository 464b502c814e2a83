// The one zod schema for the config file and the environment; the only reader of process.env.
// Defaults < file < environment < command-line flags. A bad config is refused whole: exit 2.
import { existsSync, lstatSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputError, errorMessage } from './errors.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { describeIssues } from './validation.js';
import { LOOP_DEFAULTS, LoopConfig } from './loop/config.js';
import { isReservedPrincipal } from './shared/roles.js';
import { OAuthConfig } from './server/oauth-config.js';
import { Integrations } from './server/slack-config.js';
import { didYouMean } from './shared/did-you-mean.js';
import { readSettingsFile } from './shared/settings-file.js';
import type { NotifyEvent } from './shared/notifier.js';

/** Every event a webhook can name (README, Notifications); `satisfies` and the line below keep it equal to NotifyEvent. */
export const NOTIFY_EVENTS = ['notify', 'approval.requested', 'approval.decided', 'escalation', 'audit.checkpoint'] as const satisfies readonly NotifyEvent[];
const everyEventNamed: Exclude<NotifyEvent, (typeof NOTIFY_EVENTS)[number]> extends never ? true : never = true;
void everyEventNamed;

const NotifyEventName = z.enum(NOTIFY_EVENTS, {
  error: (issue) => `unknown event ${JSON.stringify(issue.input)}: the events are ${NOTIFY_EVENTS.join(', ')}${typeof issue.input === 'string' ? didYouMean(issue.input, NOTIFY_EVENTS) : ''}`,
});

const Webhook = z.strictObject({
  url: z.url().describe('where to POST'),
  format: z.enum(['generic', 'slack', 'discord']).default('generic'),
  events: z
    .array(NotifyEventName)
    // An empty list would take nothing at all, silently: most likely a hook half written.
    .min(1, 'names no event: list at least one, or leave `events` out for all but audit.checkpoint')
    .optional()
    .describe('only these events; when absent, all but audit.checkpoint (which a hook must name)'),
});

const HostName = z.string().min(1).regex(/^[^\s/:]+$|^\[[0-9a-fA-F:.]+\]$/, 'a host name or address, no port or scheme (IPv6 in brackets)');

/** `warden serve`: the HTTP gateway. Allowed Host/Origin names default to localhost and the listen host. */
const Server = z.strictObject({
  host: z.string().min(1).default('127.0.0.1').describe('address to listen on'),
  port: z.number().int().min(0).max(65535).default(8420),
  allowedHosts: z.array(HostName).min(1).optional().describe('Host header names accepted (DNS-rebinding protection)'),
  allowedOrigins: z.array(HostName).min(1).optional().describe('Origin host names accepted from browsers'),
  tls: z.strictObject({ certPath: z.string().min(1), keyPath: z.string().min(1) }).optional(),
  rateLimit: z
    .strictObject({ perMinute: z.number().int().positive().default(600), burst: z.number().int().positive().default(60) })
    .default({ perMinute: 600, burst: 60 })
    .describe('per principal, token bucket'),
  maxBodyBytes: z.number().int().positive().max(64 * 1024 * 1024).default(1024 * 1024),
  metricsPublic: z.boolean().default(false).describe('serve /metrics without a token'),
  sessionIdleMinutes: z.number().positive().max(7 * 24 * 60).default(30).describe('2025-11-25 MCP sessions idle this long are closed'),
  sessionReplayMiB: z.number().positive().max(4096).default(32)
    .describe('what the replay buffers of all 2025-11-25 sessions hold together (as JSON); over it, the oldest events of the least recently used sessions go first'),
  oauth: OAuthConfig.optional().describe('/mcp also accepts JWT access tokens from this issuer (docs/oauth.md)'),
  // Refused on the text as written, before z.url or URL parsing rewrites it: they drop an empty `?`
  // or `#`, strip tabs and newlines and read `\` as `/`, so a value could look checked and still
  // not be the address the links carry. Stored as origin + path: the one spelling links use.
  publicUrl: z.string()
    .refine((u) => !/[\s?#<>"|\\\x00-\x1f\x7f]/.test(u), 'no query (?), fragment (#), whitespace or < > " | \\ (the console links are built from it)')
    .pipe(z.url({ protocol: /^https?$/ }))
    .refine((u) => !URL.canParse(u) || ((x) => !x.username && !x.password)(new URL(u)), 'no user:password')
    .transform((u) => { const x = new URL(u); return `${x.origin}${x.pathname.replace(/\/+$/, '')}`; }).optional()
    .describe('the address people reach this warden at (https://warden.example.com): links to the console in notifications'),
  console: z.strictObject({
    enabled: z.boolean().default(true).describe('serve the operator console at / (docs/console.md)'),
    sessionHours: z.number().positive().max(7 * 24).default(12).describe('how long a console sign-in lasts'),
  }).default({ enabled: true, sessionHours: 12 }),
});
const SERVER_DEFAULTS = {
  host: '127.0.0.1', port: 8420, rateLimit: { perMinute: 600, burst: 60 }, maxBodyBytes: 1024 * 1024, metricsPublic: false, sessionIdleMinutes: 30, sessionReplayMiB: 32,
  console: { enabled: true, sessionHours: 12 },
};

/** Signed audit checkpoints, sent to the webhooks whose `events` name `audit.checkpoint`. */
const Audit = z.strictObject({
  checkpointEvery: z
    .strictObject({
      entries: z.number().int().positive().default(100).describe('a checkpoint after this many entries written by one process'),
      minutes: z.number().positive().max(24 * 60).default(10).describe('and this often while entries were written since the last one'),
    })
    .default({ entries: 100, minutes: 10 })
    .describe('when a process sends a signed checkpoint of the audit head; also at shutdown when it wrote any since the last'),
});
const AUDIT_DEFAULTS = { checkpointEvery: { entries: 100, minutes: 10 } };

/** Circuit breakers on the Messages API, each Docker endpoint, each SSH host and each webhook. */
const Breakers = z.strictObject({
  failures: z.number().int().positive().max(100).default(5).describe('failures in a row that open a breaker'),
  halfOpenSeconds: z.number().positive().max(3_600).default(60).describe('how long a breaker stays open before one trial call'),
});
const BREAKER_DEFAULTS = { failures: 5, halfOpenSeconds: 60 };

/** A century: every cutoff stays a four-digit-year ISO time, which the prune queries compare as text. */
const RETENTION_MAX_DAYS = 36_500;
/** How long records are kept. The audit is never deleted: its old entries move into signed archive segments. */
const Retention = z.strictObject({
  alertsDays: z.number().positive().max(RETENTION_MAX_DAYS).default(30).describe('alert payloads received'),
  incidentsDays: z.number().positive().max(RETENTION_MAX_DAYS).default(90).describe('closed incidents, their timelines and model calls'),
  outboxDays: z.number().positive().max(RETENTION_MAX_DAYS).default(7).describe('notifications delivered or given up on'),
  auditArchiveDays: z.number().min(1).max(RETENTION_MAX_DAYS).optional().describe('archive audit entries older than this into segment files (off unless set)'),
});
const RETENTION_DEFAULTS = { alertsDays: 30, incidentsDays: 90, outboxDays: 7 };

export const ConfigFile = z.strictObject({
  dataDir: z.string().min(1, 'empty: expected a directory').optional().describe('where warden.db lives; default $XDG_DATA_HOME/warden, else ~/.local/share/warden'),
  logLevel: z.enum(LOG_LEVELS).optional(),
  policy: z.string().optional().describe('path of the policy YAML file'),
  inventory: z.string().optional().describe('directory of the inventory YAML files'),
  stdio: z
    .strictObject({
      principal: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/).refine((p) => !isReservedPrincipal(p), 'reserved for warden itself (the loop, its first level, chaos runs and its own recovery)').default('local'),
      role: z.enum(['readonly', 'operator', 'admin']).default('operator'),
      /** Ask the human in the client for approve-decisions; stored requests remain the fallback. */
      elicitApprovals: z.boolean().default(true),
    })
    .default({ principal: 'local', role: 'operator', elicitApprovals: true }),
  approvals: z
    .strictObject({ ttlMinutes: z.number().positive().max(7 * 24 * 60).default(15).describe('how long a held call may wait for a decision') })
    .default({ ttlMinutes: 15 }),
  tools: z
    .strictObject({
      readOnly: z.boolean().default(false),
      disabled: z.array(z.string()).default([]),
      enabled: z.array(z.string()).default([]).describe('opt-in tools to list (reboot_host, inject_fault); they are off unless named here'),
      callTimeoutMs: z.number().int().positive().max(86_400_000).default(60_000).describe('how long one tool call may run, at most a day'),
    })
    .default({ readOnly: false, disabled: [], enabled: [], callTimeoutMs: 60_000 }),
  nginx: z
    .strictObject({
      allowedDirs: z.array(z.string().regex(/^\/[A-Za-z0-9._/@+,=~-]*$/, 'an absolute directory').refine((d) => !d.split('/').includes('..'), 'no ".." segments').refine((d) => d.replace(/\/+$/, '') !== '', 'not "/": that would let nginx read every file'))
        .default(['/etc/nginx'])
        .describe('directories whose files may be given as confPath or prefix, beside what the inventory declares'),
    })
    .default({ allowedDirs: ['/etc/nginx'] }),
  notify: z.strictObject({ webhooks: z.array(Webhook).default([]) }).default({ webhooks: [] }),
  audit: Audit.default(AUDIT_DEFAULTS),
  breakers: Breakers.default(BREAKER_DEFAULTS),
  retention: Retention.default(RETENTION_DEFAULTS),
  server: Server.default(SERVER_DEFAULTS),
  loop: LoopConfig.default(LOOP_DEFAULTS),
  integrations: Integrations.default({}),
});
export type ConfigFile = z.infer<typeof ConfigFile>;

export interface Config extends Omit<ConfigFile, 'dataDir' | 'logLevel'> {
  dataDir: string;
  logLevel: LogLevel;
  /** The file the config came from, if any. */
  source?: string;
  policyPath?: string;
  inventoryDir: string;
  /** Local Docker endpoint: DOCKER_HOST when set, else the default socket. */
  dockerHost: string;
  /** Resolved from the variables the loop config names; never logged. */
  secrets: { anthropicApiKey?: string; anthropicBaseURL?: string; grafanaSecret?: string; slackSigningSecret?: string; firstLevelApiKey?: string };
  /** Where each path-like setting came from, for `warden config check`. */
  origins?: Record<'config' | 'dataDir' | 'logLevel' | 'policy' | 'inventory' | 'dockerHost', SettingOrigin>;
}

export type SettingOrigin = 'flag' | 'env' | 'file' | 'default';

export interface ConfigFlags {
  config?: string;
  dataDir?: string;
  logLevel?: string;
}

function readConfigFile(path: string): unknown {
  const text = readSettingsFile(path, 'config');
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw new InputError(`config ${path}: not valid YAML: ${errorMessage(err)}`);
  }
}

/**
 * The data dir when nothing names one: the user's XDG data home, so the approver's `warden approvals
 * approve` finds the database the Claude client's `warden stdio` writes wherever either is started
 * (the old default, ./data, was a different directory for each working directory).
 */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  // The XDG spec: an empty or relative XDG_DATA_HOME is invalid and ignored.
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'warden');
  let home = env.HOME;
  // A relative HOME would put the database under whatever directory warden starts in.
  if (home && !isAbsolute(home)) throw new InputError(`no data dir: HOME is "${home}", not an absolute path; pass --data-dir or set WARDEN_DATA_DIR or XDG_DATA_HOME`);
  if (!home) {
    try {
      home = homedir();
    } catch {
      // No HOME and no passwd entry (a bare container): guessing a directory would scatter databases.
    }
  }
  if (!home) throw new InputError('no data dir: HOME is not set; pass --data-dir or set WARDEN_DATA_DIR or XDG_DATA_HOME');
  return join(home, '.local', 'share', 'warden');
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** An empty value would resolve to the working directory: refused rather than read as "unset". */
function nonEmpty(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new InputError(`${name} is empty: expected a directory`);
  return value;
}

/** `ignoreFile`: flags and environment alone, as if there were no file (see loadConfigIgnoringFile). */
export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd(), opts: { ignoreFile?: boolean } = {}): Config {
  // An empty WARDEN_CONFIG is unset (an .mcpb bundle passes a blank setting as "").
  const explicit = opts.ignoreFile ? undefined : flags.config ?? (env.WARDEN_CONFIG || undefined);
  const implicit = resolve(cwd, 'warden.yaml');
  const source = explicit ? resolve(cwd, explicit) : !opts.ignoreFile && existsSync(implicit) ? implicit : undefined;
  // A link to nowhere or a loop of links is there to `ls`: readSettingsFile names ENOENT or ELOOP.
  if (explicit && !existsSync(source!) && !isLink(source!)) throw new InputError(`config ${source}: no such file`);

  const parsed = ConfigFile.safeParse(source ? readConfigFile(source) : {});
  if (!parsed.success) {
    const issues = describeIssues(parsed.error, '', ConfigFile);
    throw new InputError(`config ${source}: ${issues.join('; ')}`, issues);
  }
  const file = parsed.data;
  const logLevel = flags.logLevel ?? env.WARDEN_LOG_LEVEL ?? file.logLevel ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new InputError(`log level "${logLevel}": expected one of ${LOG_LEVELS.join(', ')}`);
  }
  // Paths in the file are relative to the file, not to wherever warden was started from.
  const base = source ? resolve(source, '..') : cwd;
  // An empty WARDEN_POLICY is unset: a Claude Desktop bundle passes "" for a policy setting left
  // blank, and that must not silently drop the policy the config file names.
  const policy = env.WARDEN_POLICY || (file.policy ? resolve(base, file.policy) : undefined);
  const origin = (flag: unknown, envValue: unknown, fileValue: unknown): SettingOrigin =>
    flag !== undefined ? 'flag' : envValue !== undefined ? 'env' : fileValue !== undefined ? 'file' : 'default';
  return {
    ...file,
    source,
    dataDir: resolve(cwd, nonEmpty('--data-dir', flags.dataDir) ?? nonEmpty('WARDEN_DATA_DIR', env.WARDEN_DATA_DIR) ?? (file.dataDir ? resolve(base, file.dataDir) : defaultDataDir(env))),
    logLevel: logLevel as LogLevel,
    policyPath: policy ? resolve(cwd, policy) : undefined,
    inventoryDir: resolve(base, file.inventory ?? 'inventory'),
    server: file.server.tls
      ? { ...file.server, tls: { certPath: resolve(base, file.server.tls.certPath), keyPath: resolve(base, file.server.tls.keyPath) } }
      : file.server,
    dockerHost: env.DOCKER_HOST ?? 'unix:///var/run/docker.sock',
    secrets: {
      anthropicApiKey: env[file.loop.apiKeyEnv],
      anthropicBaseURL: file.loop.baseURL ?? env.ANTHROPIC_BASE_URL,
      grafanaSecret: file.loop.grafanaSecretEnv ? env[file.loop.grafanaSecretEnv] : undefined,
      firstLevelApiKey: file.loop.firstLevel?.apiKeyEnv ? env[file.loop.firstLevel.apiKeyEnv] || undefined : undefined,
      // An empty value is no secret: the Slack route then refuses every request rather than check against "".
      slackSigningSecret: file.integrations.slack ? env[file.integrations.slack.signingSecretEnv] || undefined : undefined,
    },
    origins: {
      config: opts.ignoreFile ? 'default' : origin(flags.config, env.WARDEN_CONFIG || undefined, undefined),
      dataDir: origin(flags.dataDir, env.WARDEN_DATA_DIR, file.dataDir),
      logLevel: origin(flags.logLevel, env.WARDEN_LOG_LEVEL, file.logLevel),
      policy: origin(undefined, env.WARDEN_POLICY || undefined, file.policy),
      inventory: origin(undefined, undefined, file.inventory),
      dockerHost: origin(undefined, env.DOCKER_HOST, undefined),
    },
  };
}

/**
 * The config without the file: `warden doctor` reports a refused file and goes on checking what it
 * can with the defaults and the environment.
 */
export function loadConfigIgnoringFile(flags: ConfigFlags = {}): Config {
  return loadConfig(flags, process.env, process.cwd(), { ignoreFile: true });
}

/** Reads the global options from the root command; every subcommand loads config through here. */
export type ConfigLoader = () => Config;
