// `warden serve`'s run, loaded when the command runs: the HTTP gateway, the loop and the model
// client are never loaded by `warden --help` or the other commands.
import type { Config } from '../config.js';
import { startLoop, type LoopService } from '../loop/loop-service.js';
import { defaultAllowedHosts, startDaemon } from '../server/daemon.js';
import { createRuntime } from '../compose.js';
import { createLogger, routeLibraryOutput } from '../log.js';
import { startRecovery } from '../server/change-recovery.js';
import { auditArchiver, startRetention } from '../server/retention.js';
import { EXPIRY_WARNING_MS, TokenStore, expiryWarning } from '../store/tokens.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  loop: boolean;
}

function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

export async function serve(config: Config, opts: ServeOptions): Promise<void> {
  const server = { ...config.server, ...(opts.host !== undefined && { host: opts.host }), ...(opts.port !== undefined && { port: opts.port }) };
  const log = createLogger(config.logLevel);
  // Before anything loads: a library's console output or a Node warning arrives as JSON on stderr.
  routeLibraryOutput(log);
  const rt = createRuntime(config, log, {}, { serving: true });
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
    console: server.console.enabled ? `${server.publicUrl ?? daemon.url}/console/` : 'off',
  }, 'warden serve ready');
  for (const t of new TokenStore(rt.db).expiringWithin(EXPIRY_WARNING_MS)) rt.log.warn({ tokenId: t.id, principal: t.name, expiresAt: t.expiresAt }, expiryWarning(t));
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
}
