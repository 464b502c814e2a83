// A warden runtime in a temp data dir, and a real SDK client linked to its MCP server in-process.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Adapters } from '../../src/adapters/index.js';
import type { Notifier } from '../../src/shared/notifier.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import type { Caller } from '../../src/policy/call.js';
import { createMcpServer } from '../../src/server/mcp-server.js';
import { createRuntime } from '../../src/compose.js';
import type { Runtime } from '../../src/server/runtime.js';
import { loadInventoryInto, writeInventory } from './inventory.js';
import { tempDir } from './processes.js';

export interface TestRuntimeOptions {
  policy?: string;
  adapters?: Adapters;
  notifier?: Notifier;
  dockerHost?: string;
  config?: string;
  /** An inventory to load before the runtime starts: a directory, or file name -> YAML text. */
  inventory?: string | Record<string, string>;
  /** More environment for the config (e.g. the variable a secret is read from). */
  env?: Record<string, string>;
  /** As `warden serve` and `warden stdio` run: a short busy timeout, waits for the lock from timers. */
  serving?: boolean;
  /** An existing data dir (a restart on the same database); default: a new one. */
  dataDir?: string;
}

export function testRuntime(opts: TestRuntimeOptions = {}): Runtime {
  const dir = tempDir('warden');
  const env: NodeJS.ProcessEnv = { ...opts.env, WARDEN_DATA_DIR: opts.dataDir ?? join(dir, 'data') };
  if (opts.policy !== undefined) {
    writeFileSync(join(dir, 'policy.yaml'), opts.policy);
    env.WARDEN_POLICY = join(dir, 'policy.yaml');
  }
  if (opts.dockerHost) env.DOCKER_HOST = opts.dockerHost;
  if (opts.config !== undefined) {
    writeFileSync(join(dir, 'warden.yaml'), opts.config);
    env.WARDEN_CONFIG = join(dir, 'warden.yaml');
  }
  const config = loadConfig({}, env, dir);
  if (opts.inventory !== undefined) {
    // Loaded first, as `warden inventory load` would, so the runtime builds its hosts from it.
    loadInventoryInto(config.dataDir, typeof opts.inventory === 'string' ? opts.inventory : writeInventory(opts.inventory, join(dir, 'inventory')));
  }
  return createRuntime(config, silentLogger, { adapters: opts.adapters, notifier: opts.notifier }, { serving: opts.serving ?? false });
}

export interface Linked {
  client: Client;
  close(): Promise<void>;
}

export type ElicitAnswer = { action: 'accept'; content: Record<string, string | number | boolean | string[]> } | { action: 'decline' | 'cancel' };

/** A real SDK client linked in-process to warden's real MCP server, both protocol eras via serveStdio. */
export async function linkClient(
  rt: Runtime,
  caller: Omit<Caller, 'human'> = { principal: 'local', role: 'operator', transport: 'memory' },
  opts: { elicit?: (message: string) => ElicitAnswer; elicitApprovals?: boolean } = {},
): Promise<Linked> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(() => createMcpServer(rt.guard, () => ({ ...caller }), { elicitApprovals: opts.elicitApprovals ?? true }), { transport: serverSide });
  const client = new Client(
    { name: 'warden-test', version: '1' },
    { capabilities: opts.elicit ? { elicitation: { form: {} } } : {}, versionNegotiation: { mode: 'auto' } },
  );
  if (opts.elicit) {
    const answer = opts.elicit;
    client.setRequestHandler('elicitation/create', async (req) => answer(String((req.params as { message?: string }).message ?? '')));
  }
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close();
      await handle.close();
    },
  };
}
