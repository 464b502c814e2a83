// The runbooks for incidents of warden's own host monitors, which name no container: a full disk is
// cleaned in the places the inventory allow-lists for that host (clean_disk, through the gate), then
// verified by reading the level again; a certificate near expiry and every other level go to a
// human, since no runbook can renew a certificate or cool a machine.
import type { CleanupPlace } from '../store/monitor-schema.js';
import { escalateIncident, parkOnApproval, resolveIncident } from './incident-close.js';
import { checkStopping, incidentOf, verifyStep, type FlowNext, type Run } from './flow-steps.js';
import { callLoopTool } from './loop-call.js';
import type { MonitorSubject } from './monitors/monitor-plan.js';

/** The cleanup places on the filesystem of `path`: declared below it (or it itself). */
export function placesUnder(places: readonly CleanupPlace[], path: string): CleanupPlace[] {
  const root = path === '/' ? '/' : `${path.replace(/\/+$/, '')}/`;
  return places.filter((p) => root === '/' || p.path === path.replace(/\/+$/, '') || p.path.startsWith(root));
}

export async function hostRunbookStep(run: Run, why: string, subject: Exclude<MonitorSubject, { kind: 'probe' }>): Promise<FlowNext> {
  const { d } = run;
  const inc = incidentOf(run);
  if (subject.kind === 'tls') {
    escalateIncident(d, run.id, `${inc.title}: renewing a certificate is a human's work; no runbook does it`);
    return {};
  }
  if (subject.check !== 'disk' || subject.mount === undefined) {
    escalateIncident(d, run.id, `${why}; no runbook lowers ${subject.check} on ${subject.host}: ${inc.title}`);
    return {};
  }
  if (inc.attempts >= d.cfg.maxAttempts) {
    escalateIncident(d, run.id, `still full after ${inc.attempts} cleanups (maxAttempts ${d.cfg.maxAttempts}): ${inc.title}`);
    return {};
  }
  const host = d.inventory.hosts().find((h) => h.name === subject.host);
  const places = placesUnder(host?.cleanup ?? [], subject.mount);
  if (places.length === 0) {
    escalateIncident(d, run.id, `${inc.title}; no cleanup place is declared on ${subject.host} under ${subject.mount} (inventory: hosts[].cleanup), so the runbooks delete nothing: a human must free space`);
    return {};
  }
  const done: string[] = [];
  for (const place of places) {
    const args = { host: subject.host, path: place.path };
    const r = await callLoopTool(run.client, 'clean_disk', args);
    checkStopping(run);
    if (r.kind === 'approval_required' && r.approvalId) {
      parkOnApproval(d, run.id, { tool: 'clean_disk', args, approvalId: r.approvalId }, `${why}; the runbook's clean_disk of ${place.path} is held: ${r.text}`, 'runbook');
      return {};
    }
    if (!r.ok) {
      escalateIncident(d, run.id, `${why}; the runbook's clean_disk of ${place.path} did not run: ${r.text.slice(0, 300)}`);
      return {};
    }
    done.push(r.text.split('\n')[0]!.slice(0, 300));
  }
  const what = `runbook clean_disk on ${subject.host} (${done.join('; ')})`;
  d.incidents.transition(run.id, 'verify', what.slice(0, 500), { attempts: inc.attempts + 1 }, { kind: 'tool' });
  const v = await verifyStep(run, what);
  if (v.ok) resolveIncident(d, run.id, `${what}; verified: ${v.reason}`.slice(0, 2_000));
  else escalateIncident(d, run.id, `${what}, and it is still too full: ${v.reason}; a human must free space elsewhere`.slice(0, 2_000));
  return {};
}
