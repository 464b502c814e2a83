// /mcp over Streamable HTTP, for both protocol eras. 2026-07-28 requests carry their own envelope
// and are served per request by the SDK's createMcpHandler; 2025-11-25 clients (the v1 SDK and v2
// by default) get sessions bound to the caller that opened them (Principal.bindKey). Either way each
// request's principal comes from its token (a warden token or an OAuth JWT), and HTTP callers are never asked to approve in the client.
import {
  createMcpHandler,
  isInitializeRequest,
  isJsonContentType,
  isLegacyRequest,
  readRequestBody,
  type AuthInfo,
} from '@modelcontextprotocol/server';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../log.js';
import type { Caller } from '../policy/call.js';
import type { Guard } from '../policy/guard.js';
import type { Principal } from './auth.js';
import { announceChanges, createMcpServer, type McpServerOptions } from './mcp-server.js';
import { jsonError } from './responses.js';
import { SessionRegistry } from './sessions.js';

export interface McpHttpOptions {
  maxBodyBytes: number;
  sessionIdleMs: number;
  maxSessions: number;
  /** Per caller (Principal.bindKey: a warden token, or an OAuth user with one role); the name predates OAuth. */
  maxSessionsPerToken: number;
  sessionReplayBytes: number;
  /** Sessions are told of a reloaded policy (tools/list_changed); per-request servers list afresh anyway. */
  policyChanges?: McpServerOptions['policyChanges'];
}

export interface McpHttp {
  /** `incoming`, when served by Node: the body is read from it directly, cheaper than through a Web stream. */
  handle(request: Request, who: Principal, incoming?: IncomingMessage): Promise<Response>;
  sessions: SessionRegistry;
  close(): Promise<void>;
}

/** The token's identity as the SDK carries it to handlers; the secret itself is not passed on. */
function authInfoOf(who: Principal): AuthInfo {
  return { token: who.bindKey, clientId: who.principal, scopes: [who.role], extra: { principal: who.principal, role: who.role } };
}

/** The body, up to `maxBytes`; reading stops as soon as it is over, and the connection is then closed. */
export function readNodeBody(incoming: IncomingMessage, maxBytes: number): Promise<{ tooLarge: true } | { tooLarge: false; text: string }> {
  if (Number(incoming.headers['content-length'] ?? 0) > maxBytes) return Promise.resolve({ tooLarge: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else {
        incoming.off('data', onData);
        incoming.pause();
        resolve({ tooLarge: true });
      }
    };
    incoming.on('data', onData);
    incoming.once('end', () => resolve({ tooLarge: false, text: Buffer.concat(chunks, size).toString('utf8') }));
    incoming.once('error', reject);
  });
}

function callerOf(auth: AuthInfo | undefined): Caller {
  const extra = auth?.extra as { principal?: string; role?: Caller['role'] } | undefined;
  // Unreachable behind authentication; refusing is the only safe answer if it ever is reached.
  if (!extra?.principal || !extra.role) throw new Error('an MCP request reached the server without an authenticated principal');
  return { principal: extra.principal, role: extra.role, transport: 'http' };
}

export function createMcpHttp(guard: Guard, log: Logger, opts: McpHttpOptions): McpHttp {
  const onerror = (err: Error): void => log.warn({ err: err.message }, 'mcp http');
  const modern = createMcpHandler(
    (ctx) => createMcpServer(guard, () => callerOf(ctx.authInfo), { elicitApprovals: false }),
    { legacy: 'reject', maxRequestBodySize: opts.maxBodyBytes, onerror },
  );
  const sessions = new SessionRegistry({
    idleMs: opts.sessionIdleMs, maxSessions: opts.maxSessions, maxPerToken: opts.maxSessionsPerToken, replayBytes: opts.sessionReplayBytes,
  });

  async function legacy(request: Request, body: unknown, who: Principal, authInfo: AuthInfo): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      // Another caller's session (another token, another OAuth user or role) is answered like one that does not exist.
      const session = sessions.find(sessionId, who.bindKey);
      if (!session) return jsonError(404, 'not_found', 'no such session for this caller; initialize a new one');
      return session.transport.handleRequest(request, { parsedBody: body, authInfo });
    }
    if (request.method !== 'POST' || !isInitializeRequest(body)) {
      return jsonError(400, 'bad_request', 'no mcp-session-id: a 2025-11-25 session starts with an initialize request');
    }
    if (sessions.full) return jsonError(503, 'unavailable', 'too many open MCP sessions; retry later', { 'retry-after': '30' });
    const caller: Caller = { principal: who.principal, role: who.role, transport: 'http' };
    const changes = opts.policyChanges;
    const server = createMcpServer(guard, () => ({ ...caller }), { elicitApprovals: false, listChanged: changes !== undefined });
    // Told of reloads only once it is a session: an initialize the transport refuses (406, 400)
    // never becomes one, nothing closes its server, and a listener would keep it for good.
    const transport = await sessions.open(who.bindKey, server, changes && (() => announceChanges(server, changes)));
    return transport.handleRequest(request, { parsedBody: body, authInfo });
  }

  return {
    sessions,
    async handle(request, who, incoming) {
      let body: unknown;
      if (request.method === 'POST') {
        if (!isJsonContentType(request.headers.get('content-type') ?? '')) {
          return jsonError(415, 'unsupported_media_type', 'POST /mcp takes application/json');
        }
        const read = incoming ? await readNodeBody(incoming, opts.maxBodyBytes) : await readRequestBody(request, opts.maxBodyBytes);
        if (read.tooLarge) return jsonError(413, 'payload_too_large', `request body over ${opts.maxBodyBytes} bytes`, { connection: 'close' });
        try {
          body = JSON.parse(read.text);
        } catch {
          return new Response(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: body is not JSON' } }), {
            status: 400, headers: { 'content-type': 'application/json' },
          });
        }
      }
      const authInfo = authInfoOf(who);
      if (await isLegacyRequest(request, body, { maxRequestBodySize: opts.maxBodyBytes })) return legacy(request, body, who, authInfo);
      return modern.fetch(request, { parsedBody: body, authInfo });
    },
    async close() {
      await sessions.closeAll();
      await modern.close();
    },
  };
}
