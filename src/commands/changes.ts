// `warden changes list | show | rollback`: the configuration changes warden made, each with its
// before and after state, validation, check and rollback. list and show only read the database;
// rollback is a tool call (rollback_change) through the gate and the audit like any other.
import { Option, type Command } from 'commander';
import { createRuntime } from '../compose.js';
import type { ConfigLoader } from '../config.js';
import { CommandError, InputError } from '../errors.js';
import { CHANGE_STATUSES, ChangeStore, type ChangeRecord, type ChangeStatus } from '../store/changes.js';
import { AuditLog, type AuditEntry } from '../store/audit.js';
import { openDb } from '../store/db.js';
import { checkPrincipalName } from '../server/auth.js';
import { ChangeId } from '../tools/rollback-change.js';
import { parseLimit, printJson, printLines, table, whoami } from './output.js';

const shortTime = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');

function withStore<T>(loadConfig: ConfigLoader, fn: (store: ChangeStore, audit: (callId: string) => AuditEntry[]) => T): T {
  const config = loadConfig();
  const db = openDb(config.dataDir);
  try {
    const audit = new AuditLog(db, null);
    return fn(new ChangeStore(db, config.dataDir), (callId) => audit.list({ callId }));
  } finally {
    db.close();
  }
}

function describe(c: ChangeRecord): string[] {
  const lines = [
    `${c.id}  ${c.status}  ${c.kind}  ${c.target}`,
    `summary:      ${c.summary}`,
    `made:         ${shortTime(c.createdAt)} by ${c.principal}${c.incidentId ? ` (incident ${c.incidentId})` : ''}   updated: ${shortTime(c.updatedAt)}`,
    `before:       ${c.beforeRef.slice(0, 16)}   after: ${c.afterRef?.slice(0, 16) ?? '-'}   (saved under the data dir's changes/)`,
  ];
  if (c.service) lines.push(`service:      ${c.service}`);
  if (c.validation) lines.push(`validation:   ${c.validation.split('\n').join('\n              ')}`);
  if (c.verification) lines.push(`check:        ${c.verification}`);
  if (c.rollback) lines.push(`rollback:     ${c.rollback}`);
  return lines;
}

export function registerChangeCommands(program: Command, loadConfig: ConfigLoader): void {
  const changes = program.command('changes').description('configuration changes warden made (nginx_set_upstream, update_container_resources, checked reloads), and their rollback');
  changes
    .command('list')
    .description('changes, newest first')
    .addOption(new Option('--status <status>', 'only this status').choices(CHANGE_STATUSES))
    .option('--target <target>', 'only changes on this canonical target, e.g. local/nginx')
    .option('--limit <n>', 'how many changes', parseLimit, 50)
    .option('--json', 'machine-readable output')
    .action((opts: { status?: ChangeStatus; target?: string; limit: number; json?: boolean }) => {
      const list = withStore(loadConfig, (s) => s.list({ limit: opts.limit, ...(opts.status ? { status: opts.status } : {}), ...(opts.target ? { target: opts.target } : {}) }));
      if (opts.json) return printJson(list);
      if (list.length === 0) return printLines(['no changes']);
      printLines(table(list.map((c) => [c.id, c.status, shortTime(c.createdAt), c.principal, c.summary])));
    });
  changes
    .command('show <id>')
    .description('one change: its states, validation, check, rollback and the audit entries of the calls that acted on it')
    .option('--json', 'machine-readable output')
    .action((id: string, opts: { json?: boolean }) => {
      const found = withStore(loadConfig, (s, audit) => {
        const c = s.get(id);
        return c && { change: c, audit: c.calls.flatMap(audit) };
      });
      if (!found) throw new CommandError(`no change ${id}; \`warden changes list\` shows the ids`);
      if (opts.json) return printJson(found);
      const entries = found.audit.map((e) => [`  #${e.seq}`, shortTime(e.time), e.principal, e.tool, e.phase, (e.result ?? '').split('\n')[0] ?? '']);
      printLines([...describe(found.change), '', 'audit:', ...table(entries)]);
    });
  changes
    .command('rollback <id>')
    .description('restore what a change replaced and check it (the rollback_change tool, through the policy gate and the audit)')
    .option('--reason <text>', 'why, for the change record and the audit')
    .option('--by <name>', 'who asks, for the policy and the audit (default: your user name)', whoami())
    .action(async (id: string, opts: { reason?: string; by: string }) => {
      if (!ChangeId.safeParse(id).success) throw new InputError(`<id>: "${id}" is not a change id such as chg_0123456789abcdef`);
      // The reserved names are warden's own (recovery) and the loop's: a person never acts as them.
      checkPrincipalName(opts.by, '--by');
      const rt = createRuntime(loadConfig());
      try {
        const out = await rt.guard.call({ principal: opts.by, role: 'admin', transport: 'cli' }, 'rollback_change', { changeId: id, ...(opts.reason ? { reason: opts.reason } : {}) });
        if (!out.ok) throw new CommandError(out.kind === 'ask_human' ? 'held for approval' : `${out.kind}: ${out.message}`);
        printLines([out.text]);
      } finally {
        await rt.notifier.flush();
        await rt.close();
      }
    });
}
