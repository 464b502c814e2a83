// reboot_host: reboots one host that declares `reboot` in the inventory, as a change (host_reboot):
// its boot id, uptime and containers are saved first, the inventory's argv is sent, and the host
// must answer again with another boot id and every container that ran before running. Opt-in:
// listed only when config tools.enabled names it. Never a shell string; never a reboot undeclared.
import { z } from 'zod';
import type { CommandResult } from '../adapters/commands.js';
import { ToolFailure } from '../errors.js';
import { redactText } from '../shared/redact.js';
import type { InventoryReader } from '../store/readers.js';
import { CHANGE_OVERHEAD_MS, ChangeFields, Rejected, runChange } from './change-transaction.js';
import { hostRebootKind, readBoot, saveContainers, type HostState, type RebootPlan } from './host-reboot-change.js';
import { HostName, defineTool, type ToolContext } from './spec.js';

export const DEFAULT_WAIT_S = 300;
export const MIN_WAIT_S = 60;
export const MAX_WAIT_S = 600;
export const MAX_VERIFY_S = 60;
/** The reboot command itself: it returns at once, or the connection drops as the host goes down. */
const SEND_RUN = { timeoutMs: 30_000, maxOutputBytes: 16 * 1024 };
/** The restore and its check after a failed check (rollBack's own deadline). */
const ROLLBACK_ALLOWANCE_MS = 120_000;
const MAX_LISTED = 100;
const NO_DOCKER = 'the host has no Docker endpoint';

const Input = z.strictObject({
  host: HostName.unwrap().describe('Inventory host to reboot (no default).'),
  reason: z.string().min(1).max(500).describe('Why, for the approval and the audit.'),
  waitSeconds: z.number().int().min(MIN_WAIT_S).max(MAX_WAIT_S).default(DEFAULT_WAIT_S)
    .describe('Seconds it may take to come back with its containers.'),
  verifySeconds: z.number().int().min(1).max(MAX_VERIFY_S).default(15)
    .describe('Seconds they must then keep running.'),
});

/** The host's reboot settings; invalid_input, saying how to declare them, when it has none. */
export function rebootArgv(inventory: InventoryReader, host: string): string[] {
  const argv = inventory.hosts().find((h) => h.name === host)?.reboot?.argv;
  if (!argv) {
    throw new ToolFailure('invalid_input', `host "${host}" does not declare reboot in the inventory, so reboot_host may not reboot it. ` +
      'To allow it, add `reboot: {}` (systemctl reboot) or `reboot: { argv: [...] }` to its entry under hosts and run warden inventory load.');
  }
  return argv;
}

/**
 * Whether the reboot command was sent. A dropped connection (unavailable), exit 255 (ssh's own) or
 * death by a signal is how a host going down ends it; any other nonzero exit is the command refusing.
 */
export function sendOutcome(res: CommandResult | ToolFailure): { sent: boolean; said: string } {
  if (res instanceof ToolFailure) return { sent: true, said: `the connection ended while it ran, as a reboot ends it (${res.message})` };
  const out = redactText(`${res.stderr}\n${res.stdout}`.trim()).slice(-500);
  const tail = out ? `: ${out}` : '';
  if (res.exitCode === 0) return { sent: true, said: `the reboot command exited 0${tail}` };
  if (res.signal || res.exitCode === 255 || res.exitCode > 128) return { sent: true, said: `the reboot command ended with ${res.signal ? `signal ${res.signal}` : `exit ${res.exitCode}`}, as the host went down${tail}` };
  return { sent: false, said: `the reboot command exited ${res.exitCode}${tail}` };
}

/** The before state: boot id and uptime (refused when unreadable), and the containers when Docker answers. */
async function saveState(host: string, ctx: ToolContext): Promise<HostState> {
  const boot = await readBoot(ctx.adapters.commands(host), host, ctx.signal);
  let containers: HostState['containers'] = null;
  let dockerNote: string | null = null;
  try {
    containers = saveContainers(await ctx.adapters.docker(host).listContainers({ all: true }));
  } catch (err) {
    // A wedged Docker is a reason to reboot, not a reason to refuse: said, and nothing to check later.
    if (!(err instanceof ToolFailure) || (err.kind !== 'invalid_input' && err.kind !== 'unavailable')) throw err;
    dockerNote = err.kind === 'invalid_input' ? NO_DOCKER : `Docker did not answer before the reboot (${err.message}); its containers were not recorded`;
  }
  return { host, ...boot, savedAt: new Date().toISOString(), containers, dockerNote, dockerDown: containers === null && dockerNote !== NO_DOCKER };
}

async function sendReboot(host: string, argv: string[], ctx: ToolContext): Promise<{ after: Buffer; validation: string }> {
  const res = await ctx.adapters.commands(host).run(argv, { ...SEND_RUN, signal: ctx.signal }).catch((err: unknown) => {
    if (!(err instanceof ToolFailure)) throw err;
    if (err.kind === 'unavailable') return err;
    throw new Rejected(err.message, err);
  });
  const { sent, said } = sendOutcome(res);
  if (!sent) {
    const exitCode = res instanceof ToolFailure ? undefined : res.exitCode;
    throw new Rejected(said, new ToolFailure('target_failed', `${argv.join(' ')} on host ${host} refused: ${said}. Nothing was rebooted.`, { ...(exitCode === undefined ? {} : { exitCode }), tail: said }));
  }
  return { after: Buffer.from(JSON.stringify({ sentAt: new Date().toISOString(), said })), validation: said };
}

export const rebootHost = defineTool({
  name: 'reboot_host',
  title: 'Reboot a host',
  description:
    'Reboots one host that declares reboot in the inventory; it must come back with a new boot id and its containers running for verifySeconds. ' +
    'Last resort for a wedged host, never for one service: all on it is down for minutes. High risk.',
  family: 'host',
  risk: 'high',
  effect: 'reboot',
  finishesAfterAbort: true,
  input: Input,
  output: z.object({
    ...ChangeFields,
    host: z.string(),
    containersRunningBefore: z.array(z.string()).nullable(),
  }),
  target: (i) => `${i.host}/*`,
  resolve: (i, inventory) => {
    rebootArgv(inventory, i.host);
    return { deadlineMs: (i.waitSeconds + i.verifySeconds) * 1_000 + CHANGE_OVERHEAD_MS + ROLLBACK_ALLOWANCE_MS };
  },
  plan: (i, inventory) => {
    const argv = inventory.hosts().find((h) => h.name === i.host)?.reboot?.argv;
    return `save the boot id and containers of host ${i.host}, run ${argv ? argv.join(' ') : '(no reboot declared)'} there, then wait up to ${i.waitSeconds} s for it to answer with a new boot id and its containers running, for ${i.verifySeconds} s`;
  },
  async run(input, ctx) {
    const argv = rebootArgv(ctx.inventory, input.host);
    const before = await saveState(input.host, ctx);
    const plan: RebootPlan = { host: input.host, argv, bootId: before.bootId, waitSeconds: input.waitSeconds, verifySeconds: input.verifySeconds };
    const running = before.containers?.filter((c) => c.running).map((c) => c.name) ?? null;
    const done = await runChange(ctx, {
      kind: hostRebootKind, target: `${input.host}/*`, service: null, plan, before: Buffer.from(JSON.stringify(before)),
      summary: `reboot host ${input.host} (${running === null ? 'containers not recorded' : `${running.length} container${running.length === 1 ? '' : 's'} running`}): ${redactText(input.reason).slice(0, 200)}`,
      apply: () => sendReboot(input.host, argv, ctx),
    });
    return { ...done, host: input.host, containersRunningBefore: running?.slice(0, MAX_LISTED) ?? null };
  },
  summarize: (o) => `${o.changeId} ${o.status}: ${o.summary}\ncheck: ${o.verification.split('\n')[0]!.slice(0, 300)}`,
});
