// `warden incidents validate | unvalidate` as a user runs them: the built command on a real database,
// audited under --by from the command line; list and show then say the fix is validated; a refusal
// names why with exit 1 (state) or 2 (bad input), and a reserved name never validates.
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/store/audit.js';
import { openDb } from '../../src/store/db.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { dataDirEnv, warden } from '../support/cli.js';
import { alert } from '../support/incidents.js';
import { tempDir } from '../support/processes.js';

const WHERE = { target: 'local/db', host: 'local', container: 'db', service: 'db' };

/** One resolved incident and one still open. */
function seeded(): { env: NodeJS.ProcessEnv; resolved: string; open: string } {
  const env = dataDirEnv(tempDir('cli-validate'));
  const db = openDb(env.WARDEN_DATA_DIR!);
  const store = new IncidentStore(db);
  const resolved = store.create(alert({ fingerprint: 'd', summary: 'db exited with code 137' }), WHERE).id;
  store.transition(resolved, 'resolve', 'raised the memory limit', { resolution: 'raised the memory limit to 2g' });
  const open = store.create(alert({ fingerprint: 'w', summary: 'web-1 unhealthy' }), { ...WHERE, target: 'local/web-1', container: 'web-1' }).id;
  db.close();
  return { env, resolved, open };
}

function auditOf(env: NodeJS.ProcessEnv, tool: string) {
  const db = openDb(env.WARDEN_DATA_DIR!);
  try {
    return new AuditLog(db, null).list({ limit: 100 }).filter((e) => e.tool === tool);
  } finally {
    db.close();
  }
}

describe('warden incidents validate', () => {
  it('validates a resolved incident, audited under --by from the cli; list and show say so', () => {
    const { env, resolved } = seeded();
    const r = warden(['incidents', 'validate', resolved, '--note', 'right fix: the batch needs 2g', '--by', 'alice'], env);
    expect(r).toMatchObject({ status: 0, stdout: `${resolved} validated by alice: search_incidents now ranks its fix first\n` });
    expect(auditOf(env, 'incident.validate')).toEqual([expect.objectContaining({ principal: 'alice', transport: 'cli', target: resolved, incidentId: resolved })]);
    expect(warden(['incidents', 'show', resolved], env).stdout).toMatch(/validated:\s+by alice at \S+ \S+: right fix: the batch needs 2g\n/);
    expect(warden(['incidents', 'list'], env).stdout).toMatch(new RegExp(`^${resolved}\\s+resolved \\(validated\\)\\s+warning`, 'm'));
    const json = JSON.parse(warden(['incidents', 'show', resolved, '--json'], env).stdout) as { incident: Record<string, unknown> };
    expect(json.incident).toMatchObject({ validatedBy: 'alice', validatedNote: 'right fix: the batch needs 2g', validatedAt: expect.any(String) });
  });

  it('prints the incident with --json, and withdraws the validation with unvalidate', () => {
    const { env, resolved } = seeded();
    const out = JSON.parse(warden(['incidents', 'validate', resolved, '--note', 'ok', '--by', 'alice', '--json'], env).stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ id: resolved, validatedBy: 'alice', validatedNote: 'ok' });
    const again = warden(['incidents', 'validate', resolved, '--note', 'me too', '--by', 'bob'], env);
    expect(again).toMatchObject({ status: 1, stderr: expect.stringMatching(/already validated by alice .*warden incidents unvalidate/) });
    expect(warden(['incidents', 'unvalidate', resolved, '--reason', 'it came back', '--by', 'bob'], env).status).toBe(0);
    expect(auditOf(env, 'incident.unvalidate')).toEqual([expect.objectContaining({ principal: 'bob', transport: 'cli' })]);
    expect(warden(['incidents', 'show', resolved], env).stdout).not.toMatch(/validated:/);
    expect(warden(['incidents', 'unvalidate', resolved, '--reason', 'again', '--by', 'bob'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/not validated: nothing to withdraw/) });
  });

  it('refuses an open incident (exit 1) and an unknown one, naming why, writing nothing', () => {
    const { env, open } = seeded();
    expect(warden(['incidents', 'validate', open, '--note', 'ok', '--by', 'alice'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/is still open: a fix can be validated once the incident is resolved/) });
    expect(warden(['incidents', 'validate', 'inc_nothere', '--note', 'ok', '--by', 'alice'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/no incident inc_nothere/) });
    expect(auditOf(env, 'incident.validate')).toEqual([]);
  });

  it.each([
    [['--note', 'ok', '--by', 'loop'], /--by "loop" is reserved for warden itself/],
    [['--note', 'ok', '--by', 'Loop'], /--by: "Loop" is reserved for warden itself; only a person validates/],
    [['--note', '   ', '--by', 'alice'], /--note: required/],
    [['--by', 'alice'], /required option '--note <text>' not specified/],
  ])('refuses %j with exit 2, naming the option', (args, message) => {
    const { env, resolved } = seeded();
    expect(warden(['incidents', 'validate', resolved, ...args], env)).toMatchObject({ status: 2, stderr: expect.stringMatching(message) });
    expect(auditOf(env, 'incident.validate')).toEqual([]);
  });

  it('names the missing database rather than making one', () => {
    const env = dataDirEnv(tempDir('cli-validate-none'));
    const r = warden(['incidents', 'validate', 'inc_x', '--note', 'ok', '--by', 'alice'], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/warden\.db/);
  });
});
