// `warden serve`: the gateway listening on HTTP or HTTPS, and its orderly end: stop accepting,
// let tool calls under way finish (bounded), close MCP sessions, then drop what connections remain.
// The runtime (SQLite, notifier) is closed by the caller after this, so the last audit entries land.
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Config } from '../config.js';
import { CommandError, InputError, errorMessage } from '../errors.js';
import type { Intake } from '../loop/intake.js';
import { createGateway, type Gateway } from './http.js';
import type { Runtime } from './runtime.js';

export type ServerConfig = Config['server'];

export interface Daemon {
  /** Where clients reach it, e.g. http://127.0.0.1:8420 */
  url: string;
  port: number;
  gateway: Gateway;
  /** Graceful: idempotent; resolves once the listener and every connection are closed. */
  close(): Promise<void>;
}

export interface DaemonOptions {
  /** How long shutdown waits for tool calls under way before closing anyway. */
  drainMs?: number;
  /** Open 2025-11-25 sessions in all (default 1000) and per caller, a token or an OAuth user and role (default 32). */
  maxSessions?: number;
  maxSessionsPerToken?: number;
  /** The loop's intake, so /alerts feeds the runner; without it alerts are recorded and nobody works on them. */
  intake?: Intake;
}

/** How long a client may take to send one request (headers and body); tool calls have their own deadline. */
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

const bracketed = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/** localhost names, plus the listen address unless it is a wildcard. */
export function defaultAllowedHosts(listenHost: string): string[] {
  const names = ['localhost', '127.0.0.1', '[::1]'];
  const own = bracketed(listenHost);
  return WILDCARDS.has(listenHost) || names.includes(own) ? names : [...names, own];
}

function readTls(tls: NonNullable<ServerConfig['tls']>): { cert: Buffer; key: Buffer } {
  const read = (field: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new InputError(`server.tls.${field} ${path}: cannot read: ${errorMessage(err)}`);
    }
  };
  return { cert: read('certPath', tls.certPath), key: read('keyPath', tls.keyPath) };
}

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

export async function startDaemon(rt: Runtime, server: ServerConfig, opts: DaemonOptions = {}): Promise<Daemon> {
  const tls = server.tls ? readTls(server.tls) : undefined;
  const allowedHosts = server.allowedHosts ?? defaultAllowedHosts(server.host);
  const gateway = createGateway(rt, {
    allowedHosts,
    allowedOrigins: server.allowedOrigins ?? allowedHosts,
    rateLimit: server.rateLimit,
    maxBodyBytes: server.maxBodyBytes,
    metricsPublic: server.metricsPublic,
    sessionIdleMs: server.sessionIdleMinutes * 60_000,
    sessionReplayBytes: server.sessionReplayMiB * 1_048_576,
    maxSessions: opts.maxSessions ?? 1_000,
    maxSessionsPerToken: opts.maxSessionsPerToken ?? 32,
    console: { ...server.console, secure: tls !== undefined, ...(server.publicUrl ? { publicUrl: server.publicUrl } : {}) },
    ...(opts.intake ? { intake: opts.intake } : {}),
  });
  const listener = serve({
    fetch: (request, env) => gateway.fetch(request, env as never),
    hostname: server.host,
    port: server.port,
    // The SDK builds Web Requests and Responses itself; keep Node's globals as they are.
    overrideGlobalObjects: false,
    ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
  }) as HttpServer;
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('listening', resolve);
      listener.once('error', reject);
    });
  } catch (err) {
    await gateway.close();
    throw new CommandError(`cannot listen on ${server.host}:${server.port}: ${errorMessage(err)}`);
  }
  listener.requestTimeout = REQUEST_TIMEOUT_MS;
  listener.headersTimeout = HEADERS_TIMEOUT_MS;
  const { port } = listener.address() as AddressInfo;
  const urlHost = WILDCARDS.has(server.host) ? '127.0.0.1' : bracketed(server.host);

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    gateway.drain();
    const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
    listener.closeIdleConnections();
    const drained = await until(() => gateway.inflight() === 0, opts.drainMs ?? 10_000);
    if (!drained) rt.log.warn({ inflight: gateway.inflight() }, 'shutdown: tool calls still under way were cut off');
    await gateway.close();
    listener.closeAllConnections();
    await closed;
  };
  return {
    url: `${tls ? 'https' : 'http'}://${urlHost}:${port}`,
    port,
    gateway,
    close: () => (closing ??= close()),
  };
}
