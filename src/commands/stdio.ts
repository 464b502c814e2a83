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
      const { runStdio } = await import('../server/stdio.js');
      await runStdio(await loadRuntime(config, { serving: true }));
    });
}
