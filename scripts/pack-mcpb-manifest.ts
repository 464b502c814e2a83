// The manifest.json of warden's Claude Desktop bundle (MCP Bundle, manifest_version 0.2: the
// version `mcpb init` writes, so the one every Claude Desktop that takes bundles understands).
// Pure: everything that varies (package.json, the tool list, the build machine) comes in as input.
import { McpbManifestSchema } from '@anthropic-ai/mcpb/schemas/0.2';

// The package's schemas are zod 3 (ours is zod 4): `_output` is zod 3's inferred type.
export type Manifest = (typeof McpbManifestSchema)['_output'];

export interface PackageJson {
  name: string;
  version: string;
  description?: string;
  license?: string;
  author?: string | { name: string; email?: string; url?: string };
  homepage?: string;
  repository?: string | { type: string; url: string };
}

export interface BuildFacts {
  /** process.platform of the machine that built the bundle: better-sqlite3's binary is built for it. */
  platform: 'darwin' | 'win32' | 'linux';
  /** process.versions.node there: the binary is built for that Node major's ABI. */
  nodeVersion: string;
}

/** The environment variables src/config.ts reads, fed from the settings the user fills in. */
export const USER_CONFIG_ENV = {
  WARDEN_DATA_DIR: 'data_dir',
  WARDEN_POLICY: 'policy_file',
  WARDEN_CONFIG: 'config_file',
} as const;

/** `@warden-sre/warden` -> `warden`: a bundle name is a plain identifier, and the file is named for it. */
export function bundleName(packageName: string): string {
  const bare = packageName.replace(/^@[^/]+\//, '');
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(bare)) throw new Error(`package.json name "${packageName}": expected an npm package name`);
  return bare;
}

function author(pkg: PackageJson): Manifest['author'] {
  if (typeof pkg.author === 'object') return { name: pkg.author.name };
  // "Name <email> (url)" is npm's one-string form; the name alone is all the manifest needs.
  if (typeof pkg.author === 'string' && pkg.author.trim()) return { name: pkg.author.replace(/\s*[<(].*$/, '').trim() };
  return { name: `the ${bundleName(pkg.name)} authors` };
}

function repository(pkg: PackageJson): Manifest['repository'] {
  if (typeof pkg.repository === 'object') return pkg.repository;
  if (typeof pkg.repository === 'string' && /^https?:\/\//.test(pkg.repository)) return { type: 'git', url: pkg.repository };
  return undefined;
}

export function buildManifest(pkg: PackageJson, tools: { name: string; description: string }[], facts: BuildFacts): Manifest {
  const name = bundleName(pkg.name);
  const major = facts.nodeVersion.replace(/^v/, '').split('.')[0];
  const manifest: Manifest = {
    manifest_version: '0.2',
    name,
    display_name: name,
    version: pkg.version,
    description: pkg.description ?? 'An MCP server with policy-gated, audited infrastructure tools.',
    long_description:
      'Every tool call passes one policy gate (allow / notify / approve / deny) and is written to a ' +
      'tamper-evident audit log in the data directory before it runs. Without a policy file the ' +
      'built-in default policy applies; `warden policy check` shows what a call would do.',
    author: author(pkg),
    repository: repository(pkg),
    homepage: pkg.homepage,
    license: pkg.license,
    keywords: ['infrastructure', 'docker', 'sre', 'audit', 'policy'],
    server: {
      type: 'node',
      entry_point: 'dist/cli.js',
      mcp_config: {
        command: 'node',
        args: ['${__dirname}/dist/cli.js', 'stdio'],
        env: Object.fromEntries(Object.entries(USER_CONFIG_ENV).map(([env, key]) => [env, `\${user_config.${key}}`])),
      },
    },
    tools,
    // Read-only mode, tools.disabled and opt-in tools in the config file change the list at run time.
    tools_generated: true,
    prompts_generated: true,
    compatibility: {
      platforms: [facts.platform],
      runtimes: { node: `>=${major}.0.0 <${Number(major) + 1}.0.0` },
    },
    user_config: {
      data_dir: {
        type: 'directory',
        title: 'Data directory',
        description: 'Where warden keeps its SQLite database (warden.db): the audit log, approvals, incidents and the inventory.',
        required: true,
        default: '${HOME}/.local/share/warden',
      },
      // Optional settings default to "": a setting left unset would otherwise reach warden as the
      // literal text "${user_config.policy_file}", and warden reads an empty variable as unset.
      policy_file: {
        type: 'file',
        title: 'Policy file',
        description: 'The policy YAML (allow / notify / approve / deny rules). Empty: the policy file the config file names, else the built-in default.',
        required: false,
        default: '',
      },
      config_file: {
        type: 'file',
        title: 'Config file',
        description: 'warden.yaml: inventory directory, read-only mode, disabled tools, webhooks. Empty: defaults.',
        required: false,
        default: '',
      },
    },
  };
  // The schema is strict: checking here names the field, before anything is packed. The JSON round
  // trip drops the undefined optional fields, as writing manifest.json will.
  const checked = McpbManifestSchema.safeParse(JSON.parse(JSON.stringify(manifest)));
  if (!checked.success) {
    throw new Error(`manifest.json: ${checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return checked.data;
}
