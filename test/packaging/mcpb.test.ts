// `npm run pack:mcpb` makes a Claude Desktop bundle that works on its own: unpacked with the
// @anthropic-ai/mcpb code Claude Desktop uses, started from the manifest's mcp_config the way
// Claude Desktop resolves it (outside the repo, so nothing resolves from the repo's node_modules),
// and spoken to by the real MCP client over stdio. Packing takes a minute: once for the file.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { getMcpConfigForManifest, unpackExtension } from '@anthropic-ai/mcpb';
import { McpbManifestSchema } from '@anthropic-ai/mcpb/schemas/0.2';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleName, type Manifest } from '../../scripts/pack-mcpb-manifest.js';
import { recordPid, tempDir } from '../support/processes.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const text = (r: unknown): string => ((r as CallToolResult).content[0] as { text: string }).text;

let work: string;
let bundle: string;
let unpacked: string;
let manifest: Manifest;

beforeAll(async () => {
  work = tempDir('mcpb');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const { stdout } = await promisify(execFile)(npm, ['run', '--silent', 'pack:mcpb', '--', '--out-dir', join(work, 'out')], {
    cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 600_000,
  });
  // The script's last line is the bundle's path, for scripts that use it.
  bundle = stdout.trim().split('\n').at(-1)!;
  unpacked = join(work, 'unpacked');
  expect(await unpackExtension({ mcpbPath: bundle, outputDir: unpacked, silent: true })).toBe(true);
  manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8')) as Manifest;
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true, maxRetries: 3 });
});

/** Starts the unpacked bundle as Claude Desktop would with these settings, and connects to it. */
async function launch(userConfig: Record<string, string>) {
  const home = tempDir('mcpb-home');
  const config = await getMcpConfigForManifest({ manifest, extensionPath: unpacked, systemDirs: { HOME: home }, userConfig, pathSeparator: sep });
  if (!config) throw new Error('mcpb refused to make a server config (a required setting missing?)');
  // "node" is Claude Desktop's own Node; here, the one running the tests. No Docker answers at DOCKER_HOST.
  const transport = new StdioClientTransport({
    command: config.command === 'node' ? process.execPath : config.command,
    args: config.args ?? [],
    env: { PATH: process.env.PATH ?? '', HOME: home, DOCKER_HOST: `unix://${join(home, 'no-docker.sock')}`, ...config.env },
    cwd: home,
    stderr: 'pipe',
  });
  let stderr = '';
  (transport.stderr as Readable | null)?.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-8000); });
  const client = new Client({ name: 'mcpb-test', version: '1' });
  try {
    await client.connect(transport);
  } catch (err) {
    throw new Error(`the bundled server did not start: ${String(err)}\n${stderr}`);
  }
  recordPid(transport.pid!);
  return { client, config, stderr: () => stderr };
}

describe('npm run pack:mcpb', () => {
  it('writes <name>-<version>.mcpb with a valid manifest taken from package.json', () => {
    expect(bundle).toBe(join(work, 'out', `${bundleName(pkg.name)}-${pkg.version}.mcpb`));
    expect(McpbManifestSchema.safeParse(manifest).success).toBe(true);
    expect(manifest).toMatchObject({ manifest_version: '0.2', name: bundleName(pkg.name), version: pkg.version });
    expect(manifest.server).toEqual({
      type: 'node',
      entry_point: 'dist/cli.js',
      mcp_config: {
        command: 'node',
        args: ['${__dirname}/dist/cli.js', 'stdio'],
        env: { WARDEN_DATA_DIR: '${user_config.data_dir}', WARDEN_POLICY: '${user_config.policy_file}', WARDEN_CONFIG: '${user_config.config_file}' },
      },
    });
    expect(existsSync(join(unpacked, manifest.server.entry_point))).toBe(true);
    expect(manifest.user_config).toMatchObject({
      data_dir: { type: 'directory', required: true, default: '${HOME}/.local/share/warden' },
      policy_file: { type: 'file', required: false, default: '' },
      config_file: { type: 'file', required: false, default: '' },
    });
    // better-sqlite3's binary is built for this platform and this Node's ABI.
    expect(manifest.compatibility?.platforms).toEqual([process.platform]);
    expect(manifest.tools?.map((t) => t.name)).toContain('query_inventory');
  });

  it('holds dist/ and the production dependencies only', () => {
    const top = readdirSync(unpacked).sort();
    expect(top).toEqual(['dist', 'manifest.json', 'node_modules', 'package.json']);
    for (const dev of ['vitest', 'typescript', 'tsx', '@anthropic-ai/mcpb', 'fast-check', 'dependency-cruiser']) {
      expect(existsSync(join(unpacked, 'node_modules', dev)), dev).toBe(false);
    }
    expect(existsSync(join(unpacked, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))).toBe(true);
    expect(existsSync(join(unpacked, 'node_modules', 'better-sqlite3', 'deps'))).toBe(false);
    const dist = readdirSync(join(unpacked, 'dist'), { recursive: true }).map(String);
    expect(dist.filter((f) => /\.(ts|map)$/.test(f))).toEqual([]);
    const bundled = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(bundled).toMatchObject({ name: pkg.name, version: pkg.version, type: 'module' });
    expect(bundled.devDependencies).toBeUndefined();
    expect(bundled.scripts).toBeUndefined();
  });

  it('starts as Claude Desktop starts it: the data dir gets warden.db, the policy file decides', async () => {
    const dir = tempDir('mcpb-settings');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'rules:\n  - { name: no-incident-search, tool: search_incidents, decision: deny }\n');
    const data = join(dir, 'data');
    const w = await launch({ data_dir: data, policy_file: policy });
    try {
      expect(w.config.env).toMatchObject({ WARDEN_DATA_DIR: data, WARDEN_POLICY: policy, WARDEN_CONFIG: '' });
      const { tools } = await w.client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['query_inventory', 'gpu_status']));
      const read = await w.client.callTool({ name: 'query_inventory', arguments: { sql: 'SELECT 6 * 7 AS answer' } });
      expect(read.isError, text(read)).toBeFalsy();
      expect(read.structuredContent).toMatchObject({ columns: ['answer'], rows: [[42]] });
      expect(text(await w.client.callTool({ name: 'search_incidents', arguments: { query: 'db' } }))).toMatch(/^\[denied\] .*no-incident-search/);
      expect(existsSync(join(data, 'warden.db'))).toBe(true);
    } finally {
      await w.client.close();
    }
  });

  it('with the policy setting left blank, the config file and the policy it names apply', async () => {
    const dir = tempDir('mcpb-config');
    writeFileSync(join(dir, 'policy.yaml'), 'rules:\n  - { name: from-the-config-file, tool: search_incidents, decision: deny }\n');
    writeFileSync(join(dir, 'warden.yaml'), 'policy: policy.yaml\ntools:\n  disabled: [gpu_status]\n');
    const w = await launch({ data_dir: join(dir, 'data'), config_file: join(dir, 'warden.yaml') });
    try {
      expect(w.config.env).toMatchObject({ WARDEN_POLICY: '' });
      const names = (await w.client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('query_inventory');
      expect(names).not.toContain('gpu_status');
      expect(text(await w.client.callTool({ name: 'search_incidents', arguments: { query: 'db' } }))).toMatch(/^\[denied\] .*from-the-config-file/);
    } finally {
      await w.client.close();
    }
  });
});
