// The loop's own MCP client: a real SDK client linked in-process to warden's real MCP server, so
// the agent sees exactly the tools other clients see and every call passes the guard as principal
// `loop`, tagged with the incident. It must never reach the guard, the catalog or an adapter directly.
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Guard } from '../policy/guard.js';
import { SERVER_INFO, createMcpServer } from '../server/mcp-server.js';

export const LOOP_PRINCIPAL = 'loop';

export interface LoopClient {
  client: Client;
  close(): Promise<void>;
}

/**
 * One client per incident run; readOnly for an investigation after a runbook restored the service. Approvals are never elicited: no human sits in this client, so a
 * held call comes back as [approval_required] and waits for a decision made elsewhere.
 */
export async function connectLoopClient(guard: Guard, incidentId: string, opts: { readOnly?: boolean } = {}): Promise<LoopClient> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  // readOnly: the role, not the tool list, refuses writes, so the model still sees every tool.
  const role = opts.readOnly ? 'readonly' : 'operator';
  const handle = serveStdio(
    () => createMcpServer(guard, () => ({ principal: LOOP_PRINCIPAL, role, transport: 'loop', incidentId }), { elicitApprovals: false }),
    { transport: serverSide },
  );
  const client = new Client({ name: `${SERVER_INFO.name}-loop`, version: SERVER_INFO.version }, { capabilities: {}, versionNegotiation: { mode: 'auto' } });
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
