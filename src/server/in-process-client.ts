// A real SDK client linked in-process to warden's real MCP server: how the loop reaches its tools,
// so every call it makes passes the guard like any other client's. Approvals are never elicited:
// no human sits in this client, so a held call comes back as [approval_required].
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Caller } from '../policy/call.js';
import type { Guard } from '../policy/guard.js';
import { SERVER_INFO, createMcpServer } from './mcp-server.js';

export interface InProcessClient {
  client: Client;
  close(): Promise<void>;
}

export async function connectInProcess(guard: Guard, caller: Omit<Caller, 'human'>): Promise<InProcessClient> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const handle = serveStdio(() => createMcpServer(guard, () => ({ ...caller }), { elicitApprovals: false }), { transport: serverSide });
  const client = new Client({ name: `${SERVER_INFO.name}-${caller.principal}`, version: SERVER_INFO.version }, { capabilities: {}, versionNegotiation: { mode: 'auto' } });
  try {
    await client.connect(clientSide);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return {
    client,
    async close() {
      await client.close();
      await handle.close();
    },
  };
}
