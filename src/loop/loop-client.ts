// The loop's MCP client: a real SDK client linked in-process to warden's real MCP server (the
// composition root hands the loop a factory), so the agent sees exactly the tools other clients
// see and every call passes the guard as principal `loop`, tagged with the incident.
import type { Client } from '@modelcontextprotocol/client';

export interface LoopClient {
  client: Client;
  close(): Promise<void>;
}

/**
 * One client per incident run; readOnly for an investigation after a runbook restored the service;
 * firstLevel for the first-level model: principal loop-n1, offered (and allowed) its tool subset only.
 */
export type ConnectLoopClient = (incidentId: string, opts?: { readOnly?: boolean; firstLevel?: boolean }) => Promise<LoopClient>;
