// `warden approvals list | approve | deny`: a human decides on held calls.
import type { Command } from 'commander';
import type { ConfigLoader } from '../config.js';
import { loadRecordsRuntime } from './load-runtime.js';
import { byOption, printJson, printLines, printTable } from './output.js';

const EXAMPLES = `
Examples:
  warden approvals list                                 pending requests: id, tool, target, arguments
  warden approvals approve apr_XXXX                     the held call may run once, with the same arguments
  warden approvals deny apr_XXXX --reason "not now"
  warden --data-dir /srv/warden approvals list          the data dir the server holding the call uses
`;

export function registerApprovalCommands(program: Command, loadConfig: ConfigLoader): void {
  const approvals = program.command('approvals').description('calls held for a human decision').addHelpText('after', EXAMPLES);
  approvals
    .command('list')
    .description('approval requests, newest first (pending only unless --all)')
    .option('--all', 'include decided, used and expired requests')
    .option('--json', 'machine-readable output')
    .action(async (opts: { all?: boolean; json?: boolean }) => {
      const rt = await loadRecordsRuntime(loadConfig());
      const list = rt.approvals.list(opts.all ? {} : { status: 'pending' });
      await rt.close();
      if (opts.json) return printJson(list);
      printTable(['ID', 'STATUS', 'PRINCIPAL', 'TOOL', 'TARGET', 'EXPIRES', 'ARGS'],
        list.map((a) => [a.id, a.status, a.principal, a.tool, a.target ?? '-', a.expiresAt, a.args]),
        opts.all ? 'no approval requests' : 'no pending approvals');
    });
  for (const verdict of ['approve', 'deny'] as const) {
    const cmd = approvals
      .command(`${verdict} <id>`)
      .description(verdict === 'approve' ? 'let the held call run once, with the same arguments' : 'refuse the held call')
      .addOption(byOption('who decides, for the audit and the requester'))
      .option('--json', 'machine-readable output');
    if (verdict === 'deny') cmd.option('--reason <text>', 'why, for the audit and the requester');
    cmd.action(async (id: string, opts: { by: string; reason?: string; json?: boolean }) => {
      const rt = await loadRecordsRuntime(loadConfig());
      try {
        const a = rt.decider.decide({
          id, verdict: verdict === 'approve' ? 'approved' : 'denied', by: opts.by, reason: opts.reason, transport: 'cli',
        });
        if (opts.json) printJson(a);
        else printLines([`${a.id} ${a.status} by ${a.decidedBy}: ${a.tool} on ${a.target ?? '-'}`]);
      } finally {
        await rt.close();
      }
    });
  }
}
