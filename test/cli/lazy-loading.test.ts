// What a command loads, never how fast: `warden --help` loads the command definitions and nothing
// of the layers below them; `warden stdio` answers its first tools/list without loading the daemon,
// the loop, the model client, Docker, SSH, systeminformation or Prometheus, which load when a call
// needs them. The built CLI runs under test/support/load-recorder.mjs, which lists every module file
// it loaded (ES modules as resolved, CommonJS ones from require.cache at exit).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { describe, expect, it } from 'vitest';
import { ARCHIVE_DIR, MIN_ARCHIVE_AGE_MS } from '../../src/store/audit-archive.js';
import { CLI, warden } from '../support/cli.js';
import { recordPid, tempDir, waitFor } from '../support/processes.js';

const RECORDER = pathToFileURL(resolve(import.meta.dirname, '../support/load-recorder.mjs')).href;
/** load-recorder.mjs's last line: the process has exited and the list is complete. */
const EXITED = '# exited';

/** The packages (`dockerode`, `@hono/node-server`) and warden's own dist files (`dist/server/http.js`) a run loaded. */
function loaded(log: string): Set<string> {
  const found = new Set<string>();
  for (const url of readFileSync(log, 'utf8').split('\n')) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (pkg) found.add(pkg);
    const own = /\/(dist\/.+\.js)$/.exec(url)?.[1];
    if (own && !url.includes('node_modules')) found.add(own);
  }
  return found;
}

async function exited(log: string): Promise<void> {
  await waitFor('the recorded process to exit', async () => existsSync(log) && readFileSync(log, 'utf8').endsWith(`${EXITED}\n`), undefined, 15_000);
}

function env(dir: string, log: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '', HOME: dir, WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_LOG_LEVEL: 'warn', WARDEN_LOAD_LOG: log,
    DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`,
  };
}

/** Loaded only when something uses them: neither `--help` nor stdio's first tools/list does. */
const ON_USE = [
  'dockerode', 'node-ssh', 'ssh2', 'systeminformation', 'tar-stream', 'prom-client', 're2-wasm',
  'hono', '@hono/node-server', '@anthropic-ai/sdk', '@modelcontextprotocol/client',
  'dist/server/daemon.js', 'dist/server/http.js', 'dist/loop/loop-service.js', 'dist/loop/agent.js', 'dist/commands/serve-run.js',
];

describe('what a command loads', () => {
  it('warden --help loads commander and the command definitions, none of the layers below', async () => {
    const dir = tempDir('lazy');
    const log = join(dir, 'loads.txt');
    const r = spawnSync(process.execPath, ['--import', RECORDER, CLI, '--help'], { encoding: 'utf8', env: env(dir, log), cwd: dir, timeout: 30_000 });
    expect(r.status).toBe(0);
    await exited(log);
    const mods = loaded(log);
    expect(mods.has('commander')).toBe(true);
    expect(mods.has('dist/commands/audit.js')).toBe(true);
    const below = ['zod', 'yaml', 'pino', 'better-sqlite3', 'p-retry', '@modelcontextprotocol/server', 'dist/config.js', 'dist/compose.js', 'dist/tools/catalog.js', 'dist/store/changes.js', 'dist/commands/data-dir.js', ...ON_USE];
    expect(below.filter((m) => mods.has(m))).toEqual([]);
  });

  it("warden stdio answers its first tools/list without what only a call, the daemon or the loop needs", async () => {
    const dir = tempDir('lazy');
    const log = join(dir, 'loads.txt');
    const transport = new StdioClientTransport({ command: process.execPath, args: ['--import', RECORDER, CLI, 'stdio'], env: env(dir, log), cwd: dir, stderr: 'pipe' });
    const client = new Client({ name: 'lazy-loading-test', version: '1' });
    await client.connect(transport);
    recordPid(transport.pid!);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('list_containers');
    } finally {
      await client.close();
    }
    await exited(log);
    const mods = loaded(log);
    // The recorder sees both kinds: the SDK server is ESM, better-sqlite3 CommonJS.
    expect(['@modelcontextprotocol/server', 'better-sqlite3', 'dist/compose.js'].filter((m) => mods.has(m))).toHaveLength(3);
    expect(ON_USE.filter((m) => mods.has(m))).toEqual([]);
  });

  it('audit archive --help states the archive dir and minimum age store/audit-archive.ts enforces', () => {
    const r = warden(['audit', 'archive', '--help']);
    expect(r.status).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain(`<data-dir>/${ARCHIVE_DIR}/`);
    expect(help).toContain(`at least ${MIN_ARCHIVE_AGE_MS / 3_600_000} h ago`);
  });
});
