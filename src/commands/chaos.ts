// `warden chaos run`: faults into the containers that opted in (label warden.chaos=true), each
// through the guard as principal chaos, then how warden detected and healed them. Definitions only:
// the action lives in chaos-run.ts, loaded when it runs.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import type { ChaosRunOptions } from './chaos-plan.js';

const FAULT_NAMES = ['kill', 'stop', 'exit', 'oom', 'pause', 'unhealthy'];

const EXAMPLES = `
Examples:
  warden chaos run --dry-run                            the plan: which fault goes where, nothing injected
  warden chaos run --rounds 3 --interval 30 --seed 7    three rounds, replayable with the same seed
  warden chaos run --faults exit,oom,unhealthy --json   only faults warden is meant to heal, for scripts

It needs tools.enabled: [inject_fault] in the config and a policy rule that lets principal chaos
call inject_fault (docs/chaos.md); warden serve, with the loop, is what heals.
`;

function parseFaults(value: string): string[] {
  const faults = value.split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = faults.filter((f) => !FAULT_NAMES.includes(f));
  if (faults.length === 0 || unknown.length) throw new InvalidArgumentError(`expected a comma-separated list of ${FAULT_NAMES.join(', ')}; got "${value}"`);
  return [...new Set(faults)];
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 86_400) throw new InvalidArgumentError(`expected seconds from 0 to 86400, got "${value}"`);
  return n;
}

/** A positive integer up to `max`: a plan of a billion rounds would be built in memory before the first. */
const upTo = (max: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`expected an integer from 1 to ${max}, got "${value}"`);
  return n;
};

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`expected an integer from 0 to 4294967295, got "${value}"`);
  return n;
}

export function registerChaosCommands(program: Command, loadConfig: ConfigLoader): void {
  const chaos = program.command('chaos').description('fault injection into opted-in containers, to see warden detect and heal them').addHelpText('after', EXAMPLES);
  chaos.command('run')
    .description('inject faults in rounds (each through the guard as principal chaos, audited), watch detection and recovery, and report; Ctrl-C restores what it broke')
    .option('--rounds <n>', 'rounds of faults (at most 1000)', upTo(1000), 1)
    .option('--interval <s>', 'seconds between rounds', parseSeconds, 30)
    .option('--max-concurrent <n>', 'faults at once, at most one per container (at most 100)', upTo(100), 1)
    .addOption(new Option('--faults <list>', `which faults to pick from (${FAULT_NAMES.join(',')})`).argParser(parseFaults).default(FAULT_NAMES, 'all'))
    .option('--seed <n>', 'seed of the picks, to replay a run (default: random, printed)', parseSeed)
    .option('--timeout <s>', 'seconds to watch each round for recovery before restoring what is still broken', parseSeconds, 120)
    .option('--dry-run', 'print the plan and inject nothing')
    .option('--json', 'machine-readable report')
    .action(async (opts: ChaosRunOptions) => (await import('./chaos-run.js')).runChaos(loadConfig, opts));
}
