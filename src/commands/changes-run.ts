// The actions of `warden changes`, loaded when one runs: they open the database, and rollback
// builds the whole runtime to call rollback_change through the gate.
import type { ConfigLoader } from '../config.js';
import { CommandError, InputError } from '../errors.js';
import { ChangeStore, type ChangeRecord, type ChangeStatus } from '../store/changes.js';
import { AuditLog, type AuditEntry } from '../store/audit.js';
import { openDb } from '../store/db.js';
import { checkPrincipalName } from '../server/auth.js';
import { ChangeId } from '../tools/rollback-change.js';
import { loadRuntime } from './load-runtime.js';
import { printJson, printLines, printTable, table } from './output.js';

export interface ListOptions {
  status?: ChangeStatus;
  target?: string;
  limit: number;
  json?: boolean;
}

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

export function listChanges(loadConfig: ConfigLoader, opts: ListOptions): void {
  const list = withStore(loadConfig, (s) => s.list({ limit: opts.limit, ...(opts.status ? { status: opts.status } : {}), ...(opts.target ? { target: opts.target } : {}) }));
  if (opts.json) return printJson(list);
  printTable(['ID', 'STATUS', 'MADE', 'PRINCIPAL', 'SUMMARY'], list.map((c) => [c.id, c.status, shortTime(c.createdAt), c.principal, c.summary]), 'no changes');
}

export function showChange(loadConfig: ConfigLoader, id: string, opts: { json?: boolean }): void {
  const found = withStore(loadConfig, (s, audit) => {
    const c = s.get(id);
    return c && { change: c, audit: c.calls.flatMap(audit) };
  });
  if (!found) throw new CommandError(`no change ${id}; \`warden changes list\` shows the ids`);
  if (opts.json) return printJson(found);
  const entries = found.audit.map((e) => [`  #${e.seq}`, shortTime(e.time), e.principal, e.tool, e.phase, (e.result ?? '').split('\n')[0] ?? '']);
  printLines([...describe(found.change), '', ...(entries.length ? ['audit:', ...table(entries, ['  SEQ', 'TIME', 'PRINCIPAL', 'TOOL', 'PHASE', 'RESULT'])] : ['audit: no entries'])]);
}

export async function rollbackChange(loadConfig: ConfigLoader, id: string, opts: { reason?: string; by: string; json?: boolean }): Promise<void> {
  if (!ChangeId.safeParse(id).success) throw new InputError(`<id>: "${id}" is not a change id such as chg_0123456789abcdef`);
  // The reserved names are warden's own (recovery) and the loop's: a person never acts as them.
  checkPrincipalName(opts.by, '--by');
  const rt = await loadRuntime(loadConfig());
  try {
    const out = await rt.guard.call({ principal: opts.by, role: 'admin', transport: 'cli' }, 'rollback_change', { changeId: id, ...(opts.reason ? { reason: opts.reason } : {}) });
    if (!out.ok) throw new CommandError(out.kind === 'ask_human' ? 'held for approval' : `${out.kind}: ${out.message}`);
    if (opts.json) printJson(out.output);
    else printLines([out.text]);
  } finally {
    await rt.notifier.flush();
    await rt.close();
  }
}
