// `warden serve`: the daemon. Flags override config `server:`; SIGTERM or SIGINT shut it down
// gracefully (tool calls under way finish, sessions close, SQLite closes cleanly).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { ConfigLoader } from '../config.js';
import type { ServeOptions } from './serve-run.js';

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`expected a port number 0-65535, got "${value}"`);
  return n;
}

export function registerServeCommand(program: Command, loadConfig: ConfigLoader): void {
  program
    .command('serve')
    .description('the daemon: MCP over HTTP with bearer tokens, the operator console at /, the approvals API, alert intake, the autonomous loop, /metrics and /healthz')
    .option('--host <host>', 'address to listen on (config server.host, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for any free one (config server.port, default 8420)', parsePort)
    .option('--no-loop', 'serve tools and approvals without the autonomous loop')
    .action(async (opts: ServeOptions) => {
      const config = loadConfig();
      const { serve } = await import('./serve-run.js');
      await serve(config, opts);
    });
}
