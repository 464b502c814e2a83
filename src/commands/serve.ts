// `warden serve`: the daemon. Flags override config `server:`; SIGTERM or SIGINT shut it down
// gracefully (tool calls under way finish, sessions close, SQLite closes cleanly).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { ConfigLoader } from '../config.js';
import { startLoop, type LoopService } from '../loop/loop-service.js';
import { defaultAllowedHosts, startDaemon } from '../server/daemon.js';
import { createRuntime } from '../compose.js';
import { startRecovery } from '../server/change-recovery.js';
import { auditArchiver, startRetention } from '../server/retention.js';

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}"`);
  return n;
}

function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

export function registerServeCommand(program: Command, loadConfig: ConfigLoader): void {
  program
    .command('serve')
    .description('the daemon: MCP over HTTP with bearer tokens, the approvals API, alert intake, the autonomous loop, /metrics and /healthz')
    .option('--host <host>', 'address to listen on (config server.host, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for any free one (config server.port, default 8420)', parsePort)
    .option('--no-loop', 'serve tools and approvals without the autonomous loop')
    .action(async (opts: { host?: string; port?: number; loop: boolean }) => {
      const config = loadConfig();
      const server = { ...config.server, ...(opts.host !== undefined && { host: opts.host }), ...(opts.port !== undefined && { port: opts.port }) };
      const rt = createRuntime(config, undefined, {}, { serving: true });
      const loopOn = opts.loop && config.loop.enabled;
      let daemon;
      let loop: LoopService | undefined;
      try {
        if (loopOn) loop = await startLoop(rt);
        daemon = await startDaemon(rt, server, { intake: loop?.intake });
      } catch (err) {
        await loop?.stop();
        await rt.close();
        throw err;
      }
      const recovery = startRecovery(rt);
      const retention = startRetention(rt, auditArchiver(rt));
      const signal = nextSignal();
      rt.log.info({ loop: loopOn ? 'on' : opts.loop ? 'off (config loop.enabled: false)' : 'off (--no-loop)' }, loopOn
        ? 'the autonomous loop is running: alerts and Docker events become incidents'
        : 'the autonomous loop is off: alerts are recorded as incidents, nobody acts on them');
      if (['0.0.0.0', '::'].includes(server.host) && !server.tls) {
        rt.log.warn({ host: server.host }, 'listening on every interface without TLS: put a TLS proxy in front, or set server.tls');
      }
      rt.log.info({
        url: daemon.url, pid: process.pid, dataDir: config.dataDir, policy: rt.policy.current().source, tls: Boolean(server.tls),
        allowedHosts: server.allowedHosts ?? defaultAllowedHosts(server.host),
      }, 'warden serve ready');
      const got = await signal;
      // A second signal while draining means "now": the requested entries are already committed.
      const force = (): never => process.exit(1);
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
      rt.log.info({ signal: got }, 'shutting down: finishing tool calls under way');
      await loop?.silence();
      await daemon.close();
      await recovery.stop();
      await retention.stop();
      // Before the database closes: runs under way are aborted and resume from the audit on the next start.
      await loop?.stop();
      await rt.close();
      rt.log.info('warden serve stopped');
      // Idle keep-alive sockets of adapters must not keep a stopped daemon alive.
      process.exit(0);
    });
}
