// Restart safety as a table: from the audit entries of an incident and its timeline, which last
// action of the loop still needs verifying (and must never be repeated).
import { describe, expect, it } from 'vitest';
import { unfinishedAction } from '../../src/loop/resume.js';
import type { TimelineEvent } from '../../src/shared/incidents.js';
import type { AuditEntry } from '../../src/store/audit.js';

function entry(seq: number, callId: string, phase: AuditEntry['phase'], over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    seq, time: `2026-01-01T00:00:0${seq}.000Z`, callId, principal: 'loop', transport: 'loop', tool: 'start_container', target: 'local/db',
    args: '{}', argsHash: 'h', risk: 'low', decision: 'notify', rule: 'default:low', approvalId: null, phase, dryRun: false,
    result: null, errorKind: null, durationMs: null, incidentId: 'inc_1', prevHash: '', hash: '', ...over,
  };
}
const verify = (time: string): TimelineEvent => ({ id: 1, incidentId: 'inc_1', time, kind: 'verify', summary: 'verified', data: null });
const read = (seq: number, phase: AuditEntry['phase']) => entry(seq, `r${seq}`, phase, { tool: 'inspect_container', risk: 'read' });

describe('unfinishedAction', () => {
  it.each<[string, AuditEntry[], TimelineEvent[], string | undefined]>([
    ['nothing done yet', [], [], undefined],
    ['only reads', [read(1, 'requested'), read(2, 'completed')], [], undefined],
    ['requested, no outcome: interrupted', [entry(1, 'c1', 'requested')], [], 'interrupted'],
    ['completed, never verified', [entry(1, 'c1', 'requested'), entry(2, 'c1', 'completed')], [], 'unverified'],
    ['completed, then verified', [entry(1, 'c1', 'requested'), entry(2, 'c1', 'completed')], [verify('2026-01-01T00:00:03.000Z')], undefined],
    ['verified only before it completed', [entry(1, 'c1', 'requested'), entry(3, 'c1', 'completed')], [verify('2026-01-01T00:00:02.000Z')], 'unverified'],
    ['failed: nothing to verify', [entry(1, 'c1', 'requested'), entry(2, 'c1', 'failed')], [], undefined],
    ['the last of two writes counts', [entry(1, 'c1', 'requested'), entry(2, 'c1', 'completed'), entry(4, 'c2', 'requested')], [verify('2026-01-01T00:00:03.000Z')], 'interrupted'],
    ["another principal's write is not the loop's", [entry(1, 'c1', 'requested', { principal: 'alice' })], [], undefined],
    ['a dry run did nothing', [entry(1, 'c1', 'requested', { dryRun: true })], [], undefined],
  ])('%s', (_name, entries, timeline, state) => {
    expect(unfinishedAction(entries, timeline)?.state).toBe(state);
  });
});
