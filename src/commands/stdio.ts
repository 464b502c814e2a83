// `warden stdio`
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { createRuntime } from '../compose.js';
import { runStdio } from '../server/stdio.js';

export function registerStdioCommand(program: Command, loadConfig: ConfigLoader): void {
  program
    .command('stdio')
    .description('serve MCP over stdio for Claude Desktop and Claude Code (principal from config stdio.principal, default "local")')
    .action(async () => {
      await runStdio(createRuntime(loadConfig(), undefined, {}, { serving: true }));
    });
}
