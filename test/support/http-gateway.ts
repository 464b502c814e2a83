// `warden serve` in-process on 127.0.0.1 (a free port), tokens for it, and the real SDK clients
// that talk to it over HTTP: v2 in its default 2025-11-25 mode, v2 negotiating 2026-07-28, and v1.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Role } from '../../src/shared/roles.js';
import { issueToken } from '../../src/server/auth.js';
import { startDaemon, type Daemon, type DaemonOptions, type ServerConfig } from '../../src/server/daemon.js';
import type { Runtime } from '../../src/server/runtime.js';
import { TokenStore } from '../../src/store/tokens.js';
import { afterEach } from 'vitest';
import { fakeAdapters } from './fake-docker.js';
import { testRuntime, type TestRuntimeOptions } from './warden.js';

export interface TestGateway {
  rt: Runtime;
  daemon: Daemon;
  url: string;
  /** A new token for `principal`, made as `warden tokens create` makes it. */
  token(principal: string, role: Role, expiresInMs?: number): string;
  close(): Promise<void>;
}

export async function startTestGateway(
  opts: TestRuntimeOptions & { server?: Partial<ServerConfig>; daemon?: DaemonOptions } = {},
): Promise<TestGateway> {
  const rt = testRuntime(opts);
  let daemon: Daemon;
  try {
    daemon = await startDaemon(rt, { ...rt.config.server, host: '127.0.0.1', port: 0, ...opts.server }, opts.daemon);
  } catch (err) {
    await rt.close();
    throw err;
  }
  const tokens = new TokenStore(rt.db);
  return {
    rt,
    daemon,
    url: daemon.url,
    token: (principal, role, expiresInMs) => issueToken({ tokens, audit: rt.audit }, { principal, role, expiresInMs, by: 'test' }).token,
    async close() {
      await daemon.close();
      await rt.close();
    },
  };
}

/**
 * Gateways on a fake Docker adapter for one test file: `gateway()` starts one, and each is closed
 * after its test. Call at the top level of the file (it registers afterEach).
 */
export function useGateways(): ((server?: Partial<ServerConfig>) => Promise<TestGateway>) & { custom: typeof startTestGateway } {
  const open: TestGateway[] = [];
  afterEach(async () => {
    for (const g of open.splice(0)) await g.close();
  });
  const custom = async (opts: Parameters<typeof startTestGateway>[0] = {}): Promise<TestGateway> => {
    const g = await startTestGateway({ adapters: fakeAdapters(), ...opts });
    open.push(g);
    return g;
  };
  return Object.assign((server: Partial<ServerConfig> = {}) => custom({ server }), { custom });
}

export type ClientMode = '2025-11-25' | '2026-07-28';

export interface HttpClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  close(): Promise<void>;
}

/** The v2 SDK client over Streamable HTTP with a bearer token; '2026-07-28' negotiates (mode auto). */
export async function connectHttp(url: string, token: string, mode: ClientMode = '2025-11-25'): Promise<HttpClient> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'warden-http-test', version: '1' }, mode === '2026-07-28' ? { versionNegotiation: { mode: 'auto' } } : {});
  await client.connect(transport);
  return {
    client,
    transport,
    async close() {
      // A 2025-11-25 session ends with DELETE, as a well-behaved client ends it.
      if (transport.sessionId) await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

export async function connectHttpV1(url: string, token: string): Promise<{ client: V1Client; close(): Promise<void> }> {
  const transport = new V1StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new V1Client({ name: 'warden-http-test-v1', version: '1' });
  await client.connect(transport);
  return {
    client,
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

/** A 2025-11-25 initialize request as any client sends it first. */
export const INITIALIZE = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** A raw HTTP request to the gateway, for what SDK clients do not show: statuses, headers, bodies. */
export async function request(
  url: string, path: string,
  opts: { method?: string; token?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: string; json: () => Record<string, unknown> }> {
  const headers: Record<string, string> = { accept: 'application/json, text/event-stream', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(new URL(path, url), {
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> };
}
