// `warden incidents list | show` as a user runs them: the built command on a real database that
// an intake filled, as the daemon would.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { LOOP_DEFAULTS } from '../../src/loop/config.js';
import { IDLE_QUEUE, Intake } from '../../src/loop/intake.js';
import { openDb } from '../../src/store/db.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { InventoryStore } from '../../src/store/inventory.js';
import { dataDirEnv, warden } from '../support/cli.js';
import { alert } from '../support/incidents.js';
import { tempDir } from '../support/processes.js';

/** Two incidents: db (open, 2 alerts) and web-1 (resolved, with a model note). */
function seeded(): { env: NodeJS.ProcessEnv; db: string; web: string } {
  const env = dataDirEnv(tempDir('cli'));
  const handle = openDb(env.WARDEN_DATA_DIR!);
  const store = new IncidentStore(handle);
  const inventory = new InventoryStore(handle);
  const intake = new Intake(store, inventory, IDLE_QUEUE, LOOP_DEFAULTS, silentLogger);
  const [web] = intake.ingest([alert({ fingerprint: 'w', summary: 'web-1 exited with code 1', hints: { container: 'web-1' } })]).incidentIds;
  store.addEvent(web!, 'model', 'Claude suggested a restart');
  store.transition(web!, 'resolve', 'restarted web-1; healthy for 15 s', { resolution: 'restarted web-1; healthy for 15 s' });
  const [db] = intake.ingest([alert({ fingerprint: 'd', summary: 'db exited with code 137', severity: 'critical', hints: { container: 'db' } })]).incidentIds;
  intake.ingest([alert({ fingerprint: 'd', summary: 'db exited with code 137', hints: { container: 'db' } })]);
  inventory.close();
  handle.close();
  return { env, db: db!, web: web! };
}

describe('warden incidents', () => {
  it('lists incidents newest first, one line each', () => {
    const { env, db, web } = seeded();
    const r = warden(['incidents', 'list'], env);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.shift()).toMatch(/^ID\s+STATUS\s+SEVERITY\s+OPENED\s+TARGET\s+ALERTS\s+TITLE$/);
    expect(lines[0]).toMatch(new RegExp(`^${db}\\s+open\\s+critical\\s+\\S+ \\S+\\s+local/db\\s+2\\s+db exited with code 137$`));
    expect(lines[1]).toMatch(new RegExp(`^${web}\\s+resolved\\s+warning\\s+.*local/web-1\\s+1\\s+web-1 exited with code 1$`));
  });

  it('filters by status and limit, and prints JSON with --json', () => {
    const { env, db, web } = seeded();
    const active = JSON.parse(warden(['incidents', 'list', '--status', 'active', '--json'], env).stdout) as Array<{ id: string }>;
    expect(active.map((i) => i.id)).toEqual([db]);
    const resolved = JSON.parse(warden(['incidents', 'list', '--status', 'resolved', '--json'], env).stdout) as Array<Record<string, unknown>>;
    expect(resolved).toEqual([expect.objectContaining({ id: web, status: 'resolved', resolution: 'restarted web-1; healthy for 15 s', alertCount: 1 })]);
    expect(JSON.parse(warden(['incidents', 'list', '--limit', '1', '--json'], env).stdout)).toHaveLength(1);
    expect(warden(['incidents', 'list', '--status', 'escalated'], env).stdout).toBe('no escalated incidents\n');
  });

  it('shows one incident and its timeline, readable and as JSON', () => {
    const { env, web } = seeded();
    const r = warden(['incidents', 'show', web], env);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${web}  resolved  warning  local/web-1\\n`));
    expect(r.stdout).toMatch(/resolution:\s+restarted web-1; healthy for 15 s/);
    expect(r.stdout).toMatch(/timeline:\n\s+TIME\s+KIND\s+SUMMARY\n\s+\S+ \S+\s+alert\s+generic firing: web-1 exited with code 1\n\s+\S+ \S+\s+model\s+Claude suggested a restart\n\s+\S+ \S+\s+status\s+open -> resolved/);
    const json = JSON.parse(warden(['incidents', 'show', web, '--json'], env).stdout) as { incident: { id: string }; timeline: Array<{ kind: string }> };
    expect(json.incident.id).toBe(web);
    expect(json.timeline.map((e) => e.kind)).toEqual(['alert', 'model', 'status']);
  });

  it('exits 1 naming an incident that does not exist, and 2 for a status that does not', () => {
    const { env } = seeded();
    expect(warden(['incidents', 'show', 'inc_nothere'], env)).toMatchObject({ status: 1, stderr: expect.stringMatching(/no incident inc_nothere/) });
    expect(warden(['incidents', 'list', '--status', 'burning'], env)).toMatchObject({ status: 2, stderr: expect.stringMatching(/Allowed choices are active, open/) });
  });
});
