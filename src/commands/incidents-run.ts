// The actions of `warden incidents`, loaded when one runs: list and show only read the database;
// validate and unvalidate write through the store's audited methods.
import type { ConfigLoader } from '../config.js';
import { CommandError, InputError } from '../errors.js';
import type { Incident, IncidentStatus, TimelineEvent } from '../shared/incidents.js';
import { openDb } from '../store/db.js';
import { IncidentStore } from '../store/incidents.js';
import { ValidationRefused } from '../store/incident-validation.js';
import type { Runtime } from '../server/runtime.js';
import { loadRecordsRuntime } from './load-runtime.js';
import { cell, printJson, printLines, printTable, table } from './output.js';

function withStore<T>(loadConfig: ConfigLoader, fn: (store: IncidentStore) => T): T {
  const db = openDb(loadConfig().dataDir);
  try {
    return fn(new IncidentStore(db));
  } finally {
    db.close();
  }
}

/** `2026-11-23T10:00:00.000Z` -> `2026-11-23 10:00:00` */
const shortTime = (iso: string | null): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-');

function describe(i: Incident): string[] {
  const where = i.target ?? ([i.host, i.service].filter(Boolean).join(' ') || 'unknown target');
  const lines = [
    `${i.id}  ${i.status}  ${i.severity}  ${where}`,
    `title:       ${cell(i.title)}`,
    `source:      ${i.source} (${i.fingerprint})`,
    `opened:      ${shortTime(i.openedAt)}   updated: ${shortTime(i.updatedAt)}   closed: ${shortTime(i.closedAt)}`,
    `alerts:      ${i.alertCount}   attempts: ${i.attempts}   flaps: ${i.flaps}`,
  ];
  if (i.service) lines.push(`service:     ${i.service}`);
  if (i.parentId) lines.push(`waits on:    ${i.parentId}`);
  if (i.waitingOn) lines.push(`approval:    ${i.waitingOn}`);
  // One line each, like a table's cells: a multi-line summary would read as the next field.
  if (i.resolution) lines.push(`resolution:  ${cell(i.resolution)}`);
  if (i.validatedAt) lines.push(`validated:   by ${cell(i.validatedBy ?? '?')} at ${shortTime(i.validatedAt)}: ${cell(i.validatedNote ?? '')}`);
  if (i.summary && i.summary !== i.title) lines.push(`summary:     ${cell(i.summary)}`);
  return lines;
}

function timelineLines(events: TimelineEvent[]): string[] {
  if (events.length === 0) return ['timeline: no events'];
  return ['timeline:', ...table(events.map((e) => [`  ${shortTime(e.time)}`, e.kind, e.summary]), ['  TIME', 'KIND', 'SUMMARY'])];
}

export function listIncidents(loadConfig: ConfigLoader, opts: { status?: IncidentStatus | 'active'; limit: number; json?: boolean }): void {
  const list = withStore(loadConfig, (s) => s.list({ ...(opts.status ? { status: opts.status } : {}), limit: opts.limit }));
  if (opts.json) return printJson(list);
  printTable(['ID', 'STATUS', 'SEVERITY', 'OPENED', 'TARGET', 'ALERTS', 'TITLE'], list.map((i) => [
    i.id, i.validatedAt ? `${i.status} (validated)` : i.status, i.severity, shortTime(i.openedAt), i.target ?? i.service ?? i.host ?? '-', String(i.alertCount), i.title,
  ]), opts.status ? `no ${opts.status} incidents` : 'no incidents');
}

export function showIncident(loadConfig: ConfigLoader, id: string, opts: { json?: boolean }): void {
  const found = withStore(loadConfig, (s) => {
    const incident = s.get(id);
    return incident && { incident, timeline: s.timeline(id) };
  });
  if (!found) throw new CommandError(`no incident ${id}; \`warden incidents list\` shows the ids`);
  if (opts.json) return printJson(found);
  printLines([...describe(found.incident), '', ...timelineLines(found.timeline)]);
}

/** The person's change, through the store's audited method; a refusal is the command's message, not a stack. */
async function asPerson(loadConfig: ConfigLoader, by: string, change: (rt: Runtime) => Incident): Promise<Incident> {
  // A person validates: never the loop nor warden itself, in the audit.
  const { checkPrincipalName } = await import('../server/auth.js');
  checkPrincipalName(by, '--by');
  const rt = await loadRecordsRuntime(loadConfig());
  try {
    return change(rt);
  } catch (err) {
    if (!(err instanceof ValidationRefused)) throw err;
    throw err.reason === 'input' ? new InputError(`--${err.message}`) : new CommandError(err.message);
  } finally {
    await rt.close();
  }
}

export async function validateIncident(loadConfig: ConfigLoader, id: string, opts: { note: string; by: string; json?: boolean }): Promise<void> {
  const i = await asPerson(loadConfig, opts.by, (rt) => new IncidentStore(rt.db).validate(id, { by: opts.by, note: opts.note, transport: 'cli' }, rt.audit));
  if (opts.json) return printJson(i);
  printLines([`${i.id} validated by ${cell(i.validatedBy ?? '')}: search_incidents now ranks its fix first`]);
}

export async function unvalidateIncident(loadConfig: ConfigLoader, id: string, opts: { reason: string; by: string; json?: boolean }): Promise<void> {
  const i = await asPerson(loadConfig, opts.by, (rt) => new IncidentStore(rt.db).unvalidate(id, { by: opts.by, reason: opts.reason, transport: 'cli' }, rt.audit));
  if (opts.json) return printJson(i);
  printLines([`${i.id}: validation withdrawn; its fix ranks as any other again`]);
}
