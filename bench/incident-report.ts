// What `warden report` (and one /metrics refresh) costs over a large history: N incidents in the
// window, each with an alert, a verification and a status event on its timeline and a requested and
// a completed audit entry, plus as many incidents before the window. Prints figures, asserts nothing.
//   npx tsx bench/incident-report.ts [--incidents 50000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../src/store/db.js';
import { REPORT_MAX_INCIDENTS, incidentReport } from '../src/store/incident-report.js';
import { REPORT_METRICS_MAX_INCIDENTS } from '../src/server/report-metrics.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const n = arg('incidents', 50_000);
const dir = mkdtempSync(join(tmpdir(), 'warden-bench-report-'));
const db = openDb(join(dir, 'data'));
const now = Date.now();
const DAY = 86_400_000;

const fill = db.transaction(() => {
  const inc = db.prepare(`INSERT INTO incidents (id, fingerprint, opened_at, updated_at, closed_at, status, source, target, service, title)
    VALUES (?, ?, ?, ?, ?, ?, 'docker', ?, ?, ?)`);
  const ev = db.prepare('INSERT INTO incident_events (incident_id, time, kind, summary, data) VALUES (?, ?, ?, ?, ?)');
  const au = db.prepare(`INSERT INTO audit (time, call_id, principal, transport, tool, target, args, args_hash, risk, phase, dry_run, incident_id, prev_hash, hash)
    VALUES (?, ?, 'loop', 'loop', 'restart_container', ?, '{}', '', 'low', ?, 0, ?, '', '')`);
  for (let i = 0; i < 2 * n; i += 1) {
    // The first n before the window (60 to 30 days back), the next n inside it.
    const opened = now - 60 * DAY + (i * 30 * DAY) / n;
    const id = `inc_${i}`;
    const target = `h${i % 20}/c${i % 500}`;
    const at = (ms: number): string => new Date(opened + ms).toISOString();
    inc.run(id, `docker:${target}:die`, at(0), at(90_000), at(90_000), i % 10 === 0 ? 'escalated' : 'resolved', target, `svc${i % 50}`, `c${i % 500} exited with code ${i % 3 === 0 ? 137 : 1}`);
    ev.run(id, at(0), 'alert', 'docker firing', JSON.stringify({ status: 'firing', startsAt: at(-2_000) }));
    ev.run(id, at(60_000), 'verify', 'verified', JSON.stringify({ ok: true }));
    ev.run(id, at(90_000), 'status', 'verifying -> resolved', null);
    au.run(at(30_000), `c${i}`, target, 'requested', id);
    au.run(at(31_000), `c${i}`, target, 'completed', id);
  }
});
let t = performance.now();
fill();
console.log(`filled ${2 * n} incidents (${n} in the window) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const since = new Date(now - 30 * DAY).toISOString();
// `warden report` reads up to 50,000 incidents; a /metrics refresh the newest 10,000.
for (const [label, maxIncidents] of [['warden report', REPORT_MAX_INCIDENTS], ['/metrics refresh', REPORT_METRICS_MAX_INCIDENTS]] as const) {
  const times: number[] = [];
  let report = incidentReport(db, { since, maxIncidents });
  for (let r = 0; r < 5; r += 1) {
    t = performance.now();
    report = incidentReport(db, { since, maxIncidents });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${label}: ${report.incidents.opened} incidents (capped: ${report.capped}): median ${times[2]!.toFixed(0)} ms, max ${times[4]!.toFixed(0)} ms of 5 runs`);
}
console.log(`rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
db.close();
rmSync(dir, { recursive: true, force: true });
