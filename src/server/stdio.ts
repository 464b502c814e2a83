// `warden stdio`: the MCP server for Claude Desktop and Claude Code. One principal, from config;
// stdout carries only the protocol.
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Runtime } from './runtime.js';
import { createMcpServer } from './mcp-server.js';
import { startRecovery } from './change-recovery.js';

export async function runStdio(rt: Runtime): Promise<void> {
  const { principal, role, elicitApprovals } = rt.config.stdio;
  const caller = { principal, role, transport: 'stdio' as const };
  const handle = serveStdio(() => createMcpServer(rt.guard, () => ({ ...caller }), { elicitApprovals, policyChanges: rt.policy }), {
    onerror: (err) => rt.log.error({ err: String(err) }, 'stdio transport error'),
  });
  rt.log.info({ principal, role, dataDir: rt.config.dataDir, policy: rt.policy.current().source }, 'warden stdio ready');
  const recovery = startRecovery(rt);
  await new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await handle.close();
  await recovery.stop();
  await rt.close();
}
