// The shape of one inventory YAML file: hosts, services and runbooks. Strict everywhere, because
// a typo in an inventory silently changes what the policy sees (a tier, an owner, a label).
import { z } from 'zod';
import { RISKS } from '../shared/tiers.js';
import { CleanupPlace, HostMonitor, RebootSettings, ServiceMonitor } from './monitor-schema.js';

export const TIERS = ['critical', 'standard', 'batch'] as const;

/** The same rule as a tool's `host` argument, so every inventory name can be passed to a tool. */
export const EntryName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." or "-", at most 63, starting with a letter or digit');
const ContainerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a Docker container name');

// YAML turns `gpu: true` into a boolean; policy compares strings, so scalars become strings here.
const Labels = z
  .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/, 'a label key'), z.union([z.string(), z.number(), z.boolean()]).transform(String))
  .default({});

const DOCKER_ENDPOINT = /^(unix:\/\/\/\S+|tcp:\/\/([A-Za-z0-9_.-]+|\[[0-9A-Fa-f:]+\]):\d{1,5}\/?|ssh|ssh:\/\/\/\S+)$/;

/** A path on the host itself (perhaps remote), so never resolved against the inventory dir. */
const AbsolutePath = z.string().regex(/^\/\S*$/, 'an absolute path');

const TlsFiles = z.strictObject({
  ca: z.string().min(1).describe('CA certificate file'),
  cert: z.string().min(1).describe('client certificate file'),
  key: z.string().min(1).describe('client key file'),
});

const SshLogin = z.strictObject({
  address: z.string().min(1).optional().describe("defaults to the host's address"),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1),
  keyPath: z.string().min(1).describe('private key file; relative to the inventory dir, or ~/...'),
  knownHostsPath: z.string().min(1).optional().describe('known_hosts file pinning the host key'),
});

export const HostEntry = z
  .strictObject({
    name: EntryName,
    address: z.string().min(1).optional(),
    docker: z
      .string()
      .regex(DOCKER_ENDPOINT, 'unix:///path, tcp://host:port, ssh, or ssh:///remote/socket/path')
      .optional()
      .describe('where this host\'s Docker API is; "ssh" means the remote /var/run/docker.sock over the SSH login'),
    dockerTls: TlsFiles.optional().describe('client TLS files for a tcp:// endpoint'),
    ssh: SshLogin.optional(),
    nvidiaSmiPath: AbsolutePath.optional().describe('nvidia-smi on that host, where its PATH lacks it'),
    nginxPath: AbsolutePath.optional().describe('nginx on that host, where its PATH lacks it'),
    labels: Labels,
    notes: z.string().optional(),
    monitor: HostMonitor.optional().describe('thresholds warden checks on this host itself (true: the defaults)'),
    cleanup: z.array(CleanupPlace).max(32).default([]).describe('the only directories clean_disk may delete old files in'),
    reboot: RebootSettings.optional().describe('lets reboot_host reboot this host (the tool is also off unless config tools.enabled names it)'),
  })
  .superRefine((h, ctx) => {
    if (h.dockerTls && !h.docker?.startsWith('tcp://')) {
      ctx.addIssue({ code: 'custom', path: ['dockerTls'], message: 'TLS files apply only to a tcp:// docker endpoint' });
    }
    if (h.docker?.startsWith('ssh') && !h.ssh) {
      ctx.addIssue({ code: 'custom', path: ['docker'], message: 'a Docker endpoint over SSH needs the host\'s "ssh" login' });
    }
    if (h.ssh && !h.ssh.address && !h.address) {
      ctx.addIssue({ code: 'custom', path: ['ssh', 'address'], message: 'give ssh.address or the host\'s address' });
    }
  });
export type HostEntry = z.infer<typeof HostEntry>;

const HealthCheck = z
  .strictObject({
    http: z.url().optional().describe('URL that answers 2xx when healthy'),
    tcp: z.string().regex(/^([A-Za-z0-9_.-]+|\[[0-9A-Fa-f:]+\]):\d{1,5}$/, 'host:port').optional(),
    container: z.literal(true).optional().describe("Docker's own health check"),
    status: z.number().int().min(100).max(599).optional().describe('with http: the status that means healthy (default: any 2xx)'),
    keyword: z.string().min(1).max(200).optional().describe('with http: text the response body must contain'),
  })
  .refine((h) => [h.http, h.tcp, h.container].filter((v) => v !== undefined).length === 1, 'give exactly one of http, tcp, container')
  .refine((h) => h.http !== undefined || (h.status === undefined && h.keyword === undefined), 'status and keyword apply only to an http check');
export type HealthCheck = z.infer<typeof HealthCheck>;

/** host:port as nginx's `server` and `proxy_pass` write it: a name or IPv4 address, or [IPv6]. */
export const HostPort = z.string().max(262).regex(/^([A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, 'host:port');

const NginxSite = z.strictObject({
  confPath: z.string().min(1).describe('the main nginx.conf on the host (or in the container)'),
  prefix: z.string().min(1).optional().describe('nginx -p prefix'),
  container: ContainerName.optional().describe('when nginx runs in this container rather than on the host'),
  files: z.array(AbsolutePath).max(32).default([]).describe('further config files of this service that nginx_set_upstream may change (an included site file); confPath is always one'),
  upstream: EntryName.optional().describe('the `upstream` block this service proxies to, when its files hold several'),
  backends: z.array(HostPort).max(64).optional().describe('the only host:port values nginx_set_upstream may point this service at, as nginx writes them; without it, nothing'),
  errorLog: AbsolutePath.optional().describe("nginx's error log for this service; default: the error_log the config names"),
});
export type NginxSite = z.infer<typeof NginxSite>;

export const ServiceEntry = z.strictObject({
  name: EntryName,
  host: EntryName.describe('an inventory host, or "local"'),
  container: ContainerName.optional().describe('absent when the service is not a container'),
  owner: z.string().min(1).optional(),
  tier: z.enum(TIERS).default('standard'),
  labels: Labels,
  dependsOn: z.array(EntryName).default([]).describe('names of services this one needs'),
  healthCheck: HealthCheck.optional(),
  runbooks: z.array(EntryName).default([]),
  notes: z.string().optional(),
  nginx: NginxSite.optional(),
  resources: z
    .strictObject({
      maxMemory: z.string().regex(/^\d+(\.\d+)?[kmgKMG]?$/, 'a size such as "512m" or "2g"').optional().describe('the highest memory limit update_container_resources may set'),
      maxCpus: z.number().positive().max(1024).optional().describe('the most CPUs it may grant'),
      maxPids: z.number().int().positive().max(4_194_304).optional().describe('the highest pids limit it may set'),
    })
    .optional()
    .describe('upper bounds for update_container_resources on this service; without them one call may raise a limit at most 4 times'),
  monitor: ServiceMonitor.optional().describe('warden probes the health check itself on this schedule (true: the defaults)'),
}).refine((s) => s.monitor === undefined || s.healthCheck !== undefined, { path: ['monitor'], message: 'a monitor probes the service\'s healthCheck: give one (http, tcp or container)' })
  .refine((s) => s.healthCheck?.container === undefined || s.container !== undefined, { path: ['healthCheck', 'container'], message: 'Docker\'s own health check needs the service\'s container' });
export type ServiceEntry = z.infer<typeof ServiceEntry>;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The `{name}` tokens in one argv element. `{}` and other braces are literal text. */
export function placeholdersIn(arg: string): string[] {
  return [...arg.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

const Pattern = z.string().min(1).refine((p) => {
  try {
    new RegExp(`^(?:${p})$`, 'u');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'mksh', 'fish']);
/** Interpreters and the flag after which they take code; awk takes its program as the first argument. */
const CODE_FLAGS: Record<string, RegExp> = {
  python: /^-[a-zA-Z]*c$/, perl: /^-[a-zA-Z]*[eE]$/, ruby: /^-[a-zA-Z]*e$/, node: /^(-[ep]|--eval|--print)$/, php: /^-r$/, lua: /^-e$/,
};
const AWKS = new Set(['awk', 'gawk', 'mawk', 'nawk', 'busybox-awk']);
/** Programs that hand the rest of their arguments to a shell: on a remote host, or every n seconds. */
const SHELL_RELAYS = new Set(['ssh', 'watch']);

function programOf(arg: string): string {
  const base = arg.split('/').pop() ?? '';
  return /^python[0-9.]*$/.test(base) ? 'python' : /^node(js)?$/.test(base) ? 'node' : base;
}

/** Shell options that take the next argument as their value, not as the script. */
const SHELL_OPTION_WITH_VALUE = /^[-+]o$/;

export interface ParsedArgument {
  index: number;
  /** A shell reads it (a safe pattern may be allowed); an interpreter evaluates it (never). */
  by: 'shell' | 'interpreter';
}

/** The argv positions a shell or an interpreter parses as code, whatever wraps them (timeout, env, sudo, busybox). */
export function parsedArguments(argv: readonly string[]): ParsedArgument[] {
  for (let i = 0; i < argv.length; i += 1) {
    const program = programOf(argv[i]!);
    if (SHELLS.has(program)) {
      let j = i + 1;
      let code = false;
      for (; j < argv.length && /^[-+]/.test(argv[j]!); j += 1) {
        if (argv[j] === '--') { j += 1; break; }
        if (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(argv[j]!) || argv[j] === '--command') code = true;
        if (SHELL_OPTION_WITH_VALUE.test(argv[j]!)) j += 1;
      }
      // Arguments after the script are its positional parameters ($1 ...): passed, not parsed.
      return code && j < argv.length ? [{ index: j, by: 'shell' }] : [];
    }
    const flag = CODE_FLAGS[program];
    if (flag) {
      const at = argv.findIndex((a, j) => j > i && flag.test(a));
      return at > 0 && at + 1 < argv.length ? [{ index: at + 1, by: 'interpreter' }] : [];
    }
    if (AWKS.has(program)) {
      if (argv.slice(i + 1).some((a) => a === '-f')) return [];
      const at = argv.findIndex((a, j) => j > i && !a.startsWith('-') && !/^[-]v$/.test(argv[j - 1] ?? ''));
      return at > 0 ? [{ index: at, by: 'interpreter' }] : [];
    }
    if (SHELL_RELAYS.has(program) || (program === 'su' && argv.slice(i + 1).includes('-c'))) {
      return argv.map((_, j) => j).filter((j) => j > i).map((index) => ({ index, by: 'shell' as const }));
    }
  }
  return [];
}

/**
 * Patterns a shell cannot misread: one character class of letters, digits and . _ / (a - last),
 * with a quantifier. Checked on the pattern's text, not by sampling values.
 */
const SAFE_PATTERN = /^\[(?:[a-z]-[a-z]|[A-Z]-[A-Z]|[0-9]-[0-9]|[A-Za-z0-9._/])+-?\](?:[+*?]|\{\d+(?:,\d*)?\})?$/;

export const RunbookEntry = z
  .strictObject({
    name: EntryName,
    description: z.string().min(1),
    hosts: z.array(z.string().min(1)).min(1).describe('host names or globs ("*" for all)'),
    argv: z.array(z.string().min(1)).min(1).describe('the command as an argv array; {param} tokens are filled in'),
    params: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a parameter name'), z.strictObject({
        pattern: Pattern.describe('a value must match it whole'),
        description: z.string().min(1),
      }))
      .default({}),
    risk: z.enum(RISKS),
    timeoutSeconds: z.number().int().positive().max(3600).default(60),
  })
  .superRefine((r, ctx) => {
    // The program itself is never a parameter: a runbook names exactly what it runs.
    if (placeholdersIn(r.argv[0] ?? '').length > 0) ctx.addIssue({ code: 'custom', path: ['argv', 0], message: 'the program (argv[0]) may not contain a placeholder' });
    const used = new Set(r.argv.flatMap(placeholdersIn));
    r.argv.forEach((arg, i) => {
      for (const p of placeholdersIn(arg)) {
        if (!(p in r.params)) ctx.addIssue({ code: 'custom', path: ['argv', i], message: `placeholder {${p}} has no entry in params` });
      }
    });
    for (const p of Object.keys(r.params)) {
      if (!used.has(p)) ctx.addIssue({ code: 'custom', path: ['params', p], message: `param "${p}" is not used in argv` });
    }
    // argv keeps a value one argument; a shell (sh -c "... {p} ...") would split, glob and expand it,
    // and an interpreter (python -c, perl -e, awk) would run it as code.
    for (const { index, by } of parsedArguments(r.argv)) {
      for (const p of placeholdersIn(r.argv[index]!)) {
        if (by === 'interpreter') {
          ctx.addIssue({ code: 'custom', path: ['argv', index], message: `{${p}} is inside code an interpreter evaluates: pass it as an argument of its own (sys.argv, ARGV, process.argv) instead` });
        } else if (!SAFE_PATTERN.test(r.params[p]?.pattern ?? '')) {
          ctx.addIssue({ code: 'custom', path: ['params', p, 'pattern'], message: `{${p}} is inside code a shell parses (argv[${index}]): its pattern must be one character class of letters, digits and . _ / - with a quantifier, e.g. "[a-z0-9._-]+"; or pass it as a positional argument after the script ("$1")` });
        }
      }
    }
  });
export type RunbookEntry = z.infer<typeof RunbookEntry>;

/** One file; each key is optional, so hosts, services and runbooks may live in separate files. */
export const InventoryFile = z.strictObject({
  hosts: z.array(HostEntry).default([]),
  services: z.array(ServiceEntry).default([]),
  runbooks: z.array(RunbookEntry).default([]),
});
export type InventoryFile = z.infer<typeof InventoryFile>;
