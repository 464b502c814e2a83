// The shape of one inventory YAML file: hosts, services and runbooks. Strict everywhere, because
// a typo in an inventory silently changes what the policy sees (a tier, an owner, a label).
import { z } from 'zod';
import { RISKS } from '../shared/tiers.js';

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
  })
  .refine((h) => [h.http, h.tcp, h.container].filter((v) => v !== undefined).length === 1, 'give exactly one of http, tcp, container');
export type HealthCheck = z.infer<typeof HealthCheck>;

const NginxSite = z.strictObject({
  confPath: z.string().min(1).describe('the main nginx.conf on the host (or in the container)'),
  prefix: z.string().min(1).optional().describe('nginx -p prefix'),
  container: ContainerName.optional().describe('when nginx runs in this container rather than on the host'),
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
});
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

/** Programs that read one of their arguments as code: a placeholder there is parsed, not passed. */
const INTERPRETERS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'ash', 'mksh', 'fish', 'busybox', 'python', 'python3', 'perl', 'ruby', 'node', 'php', 'lua']);
/** The flags after which those programs take code: -c (shells, python), -e (perl, ruby, node), -lc, -ec ... */
const CODE_FLAG = /^-[a-zA-Z]*[ce]$|^--(command|eval)$/;
/** What a shell or an interpreter would read as something other than plain text. */
const UNSAFE_CHARS = [' ', '\t', '\n', ';', '&', '|', '$', '`', "'", '"', '\\', '(', ')', '<', '>', '*', '?', '[', ']', '{', '}', '~', '!', '#', '%', '^'];

/** The argv positions a shell or interpreter reads as code: the argument after its code flag. */
function codeArguments(argv: readonly string[]): number[] {
  const at: number[] = [];
  argv.forEach((arg, i) => {
    const program = arg.split('/').pop() ?? '';
    if (!INTERPRETERS.has(program)) return;
    const flag = argv.findIndex((a, j) => j > i && CODE_FLAG.test(a));
    if (flag > 0 && flag + 1 < argv.length) at.push(flag + 1);
  });
  return at;
}

const PREFIXES = ['', 'a', '1', '/', '-', '.', '_', '/a', 'a/', '/var/a', 'A'];
const SUFFIXES = ['', 'a', '1', '/', '.', 'a/a', 'A'];
const SAMPLE_AFFIXES = PREFIXES.flatMap((pre) => SUFFIXES.map((post) => [pre, post] as const));

/** Whether values of this pattern can carry a character a shell would act on (sampled around each one). */
function admitsUnsafe(pattern: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`, 'u');
  } catch {
    return undefined; // refused on its own as not a valid regular expression
  }
  return UNSAFE_CHARS.find((c) => SAMPLE_AFFIXES.some(([pre, post]) => re.test(`${pre}${c}${post}`)));
}

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
    // argv keeps a value one argument; a shell (sh -c "... {p} ...") would split, glob and expand it.
    for (const i of codeArguments(r.argv)) {
      for (const p of placeholdersIn(r.argv[i]!)) {
        const pattern = r.params[p]?.pattern;
        const bad = pattern === undefined ? undefined : admitsUnsafe(pattern);
        if (bad !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['params', p, 'pattern'], message: `{${p}} is inside code a shell or interpreter parses (argv[${i}]), and this pattern lets a value carry ${JSON.stringify(bad)}: allow only letters, digits and . _ - / there` });
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
