// `warden policy check`: what the gate would decide for a call. Runs nothing, writes nothing.
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ConfigLoader } from '../config.js';
import { InputError, errorMessage } from '../errors.js';
import { ROLES, type Role } from '../shared/roles.js';
import { createRuntime } from '../compose.js';
import { printJson } from './output.js';

export function registerPolicyCommands(program: Command, loadConfig: ConfigLoader): void {
  const policy = program.command('policy').description('inspect the policy gate');
  policy
    .command('check')
    .description('print the decision for a call as JSON {decision, risk, rule, reason}; runs nothing')
    .requiredOption('--principal <name>', 'who calls, e.g. local, loop, or a token principal')
    .requiredOption('--tool <name>', 'tool name, e.g. restart_container')
    .option('--args <json>', 'the tool arguments as a JSON object', '{}')
    .addOption(new Option('--role <role>', 'the caller role').choices(ROLES).default('operator'))
    .action((opts: { principal: string; tool: string; args: string; role: Role }) => {
      let args: unknown;
      try {
        args = JSON.parse(opts.args);
      } catch (err) {
        throw new InputError(`--args: not valid JSON: ${errorMessage(err)}`);
      }
      if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new InputError('--args: expected a JSON object');
      const rt = createRuntime(loadConfig());
      try {
        const d = rt.guard.check({ principal: opts.principal, role: opts.role }, opts.tool, args);
        printJson({ decision: d.decision, risk: d.risk, rule: d.rule, reason: d.reason, target: d.target, dryRun: d.dryRun });
      } finally {
        void rt.close();
      }
    });
}
