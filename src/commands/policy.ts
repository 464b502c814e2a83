// `warden policy check | lint | validate`: what the gate would decide for a call, which rules can
// never match, and whether a file would load. Runs nothing and writes nothing.
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ConfigLoader } from '../config.js';
import { CommandError, InputError, errorMessage } from '../errors.js';
import { ROLES, type Role } from '../shared/roles.js';
import { loadRuntime } from './load-runtime.js';
import { printJson, printLines } from './output.js';

function parseArgs(text: string): Record<string, unknown> {
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch (err) {
    throw new InputError(`--args: not valid JSON: ${errorMessage(err)}`);
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new InputError('--args: expected a JSON object');
  return args as Record<string, unknown>;
}

export function registerPolicyCommands(program: Command, loadConfig: ConfigLoader): void {
  const policy = program.command('policy').description('inspect the policy gate');
  policy
    .command('check')
    .description('print the decision for a call as JSON (decision, risk, rule, reason, canonical target, near misses); runs nothing')
    .requiredOption('--principal <name>', 'who calls, e.g. local, loop, or a token principal')
    .requiredOption('--tool <name>', 'tool name, e.g. restart_container')
    .option('--args <json>', 'the tool arguments as a JSON object, validated as a call would be', '{}')
    .addOption(new Option('--role <role>', 'the caller role').choices(ROLES).default('operator'))
    .action(async (opts: { principal: string; tool: string; args: string; role: Role }) => {
      const args = parseArgs(opts.args);
      const rt = await loadRuntime(loadConfig());
      try {
        const d = await rt.guard.check({ principal: opts.principal, role: opts.role }, opts.tool, args);
        printJson({
          decision: d.decision, risk: d.risk, rule: d.rule, reason: d.reason, target: d.target,
          ...(d.targetId ? { targetId: d.targetId } : {}), ...(d.unresolved ? { unresolved: d.unresolved } : {}),
          dryRun: d.dryRun, nearMisses: d.nearMisses,
        });
      } finally {
        await rt.close();
      }
    });
  policy
    .command('lint')
    .description('report rules that can never match: shadowed by an earlier rule, or naming services, tiers, owners or labels no inventory entry has')
    .option('--strict', 'exit 1 when anything is found')
    .option('--json', 'machine-readable output')
    .action(async (opts: { strict?: boolean; json?: boolean }) => {
      const { lintPolicy } = await import('../policy/policy-lint.js');
      const rt = await loadRuntime(loadConfig());
      try {
        const findings = lintPolicy(rt.policy.current().file, rt.inventory.services());
        if (opts.json) printJson({ policy: rt.policy.current().source, findings });
        else printLines(findings.length ? findings.map((f) => `${f.rule}: ${f.problem}`) : [`${rt.policy.current().source}: no rule that can never match`]);
        if (opts.strict && findings.length) throw new CommandError(`${findings.length} finding(s) in ${rt.policy.current().source}`);
      } finally {
        await rt.close();
      }
    });
  policy
    .command('validate <file>')
    .description('check a policy file on its own, as warden would load it: each problem with its field (exit 2), then rules an earlier one shadows (warnings); reads no config, database or inventory')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { json?: boolean }) => (await import('./policy-validate.js')).validatePolicy(file, opts));
}
