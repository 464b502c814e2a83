// Who may decide a held call is one pure function; these cases break it without any CLI or HTTP test.
import { describe, expect, it } from 'vitest';
import { ApprovalRefused, refusalOf } from '../../src/policy/approvals.js';
import type { Approval } from '../../src/store/approvals.js';
import { testRuntime } from '../support/warden.js';

const pending = { id: 'apr_abcdef', principal: 'bob', status: 'pending' } as Approval;

describe('refusalOf', () => {
  it.each([
    ['the loop approving', pending, 'approved', 'loop', 'loop'],
    ['the loop denying', pending, 'denied', 'loop', 'loop'],
    ['the requester approving their own request', pending, 'approved', 'bob', 'own_request'],
    ['an unknown approval', undefined, 'approved', 'alice', 'not_found'],
    ['an approval already decided', { ...pending, status: 'approved' }, 'denied', 'alice', 'not_pending'],
    ['an expired approval', { ...pending, status: 'expired' }, 'approved', 'alice', 'not_pending'],
  ] as const)('refuses %s', (_what, current, verdict, by, code) => {
    expect(refusalOf(current as Approval | undefined, { id: 'apr_abcdef', verdict, by })?.code).toBe(code);
  });

  it.each([
    ['another person approving', 'approved', 'alice'],
    ['the requester withdrawing (denying) their own request', 'denied', 'bob'],
  ] as const)('allows %s', (_what, verdict, by) => {
    expect(refusalOf(pending, { id: 'apr_abcdef', verdict, by })).toBeUndefined();
  });
});

describe('ApprovalDecider', () => {
  function held() {
    const rt = testRuntime();
    const a = rt.approvals.create({
      principal: 'bob', tool: 'restart_container', target: 'local/web-1', args: '{}', argsHash: 'h', risk: 'low',
      rule: 'r', reason: 'why', ttlMs: 60_000, incidentId: null,
    });
    return { rt, a };
  }

  it('audits a refused attempt under the one who tried, and leaves the request pending', async () => {
    const { rt, a } = held();
    expect(() => rt.decider.decide({ id: a.id, verdict: 'approved', by: 'bob', transport: 'cli' })).toThrow(ApprovalRefused);
    const last = rt.audit.list({ limit: 1 })[0]!;
    expect(last).toMatchObject({ principal: 'bob', phase: 'denied', approvalId: a.id, tool: 'restart_container' });
    expect(last.result).toMatch(/cannot approve it/);
    expect(rt.approvals.get(a.id)?.status).toBe('pending');
    expect(rt.audit.verify().ok).toBe(true);
    await rt.close();
  });

  it('audits a decision under the approver', async () => {
    const { rt, a } = held();
    rt.decider.decide({ id: a.id, verdict: 'approved', by: 'alice', transport: 'http' });
    expect(rt.audit.list({ limit: 1 })[0]).toMatchObject({ principal: 'alice', phase: 'approved', transport: 'http', approvalId: a.id });
    expect(rt.approvals.get(a.id)?.status).toBe('approved');
    await rt.close();
  });
});
