// Subcommands of the design whose capability lands in a later release: present, documented,
// and honest about it. Each still validates the global options (config, data dir).
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ConfigLoader } from '../cli.js';
import { CommandError } from '../errors.js';

function notBuilt(what: string, loadConfig: ConfigLoader): () => never {
  return () => {
    loadConfig();
    throw new CommandError(`${what} is not built yet in this version of warden`);
  };
}

export function registerNotYetCommands(program: Command, loadConfig: ConfigLoader): void {
  program
    .command('serve')
    .description('the daemon: MCP over HTTP with tokens, alert intake, the autonomous loop, approvals, metrics (not built yet)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8420')
    .option('--no-loop', 'serve tools and alerts without the autonomous loop')
    .action(notBuilt('warden serve', loadConfig));

  const tokens = program.command('tokens').description('bearer tokens for the HTTP gateway (not built yet)');
  tokens
    .command('create')
    .description('create a token and print it once; only its hash is stored')
    .requiredOption('--principal <name>', 'the name the policy and the audit see')
    .addOption(new Option('--role <role>', 'readonly, operator, admin or alerts').choices(['readonly', 'operator', 'admin', 'alerts']).makeOptionMandatory())
    .option('--expires <duration>', 'e.g. 30d')
    .action(notBuilt('warden tokens create', loadConfig));
  tokens.command('list').description('list tokens').option('--json', 'machine-readable output').action(notBuilt('warden tokens list', loadConfig));
  tokens.command('revoke <name>').description('revoke a token').action(notBuilt('warden tokens revoke', loadConfig));

  const inventory = program.command('inventory').description('the hosts, services and runbooks warden knows (not built yet)');
  inventory.command('load [dir]').description('load inventory YAML (default inventory/) into the database').action(notBuilt('warden inventory load', loadConfig));
  inventory.command('discover').description("record containers the hosts' Docker reports that the inventory does not know").action(notBuilt('warden inventory discover', loadConfig));
}
