// `warden stdio`
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { loadRuntime } from './load-runtime.js';

export function registerStdioCommand(program: Command, loadConfig: ConfigLoader): void {
  program
    .command('stdio')
    .description('serve MCP over stdio for Claude Desktop and Claude Code (principal from config stdio.principal, default "local")')
    .action(async () => {
      const config = loadConfig();
      // stdout is the MCP stream: a library's console.log must not land in it, from the first
      // import on (opening the database and the adapters can print), and then into the runtime's log.
      const { createLogger, routeLibraryOutput } = await import('../log.js');
      routeLibraryOutput(createLogger(config.logLevel));
      const { runStdio } = await import('../server/stdio.js');
      const rt = await loadRuntime(config, { serving: true });
      routeLibraryOutput(rt.log);
      await runStdio(rt);
    });
}
