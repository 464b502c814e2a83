// `warden chaos run` against `warden serve` with the loop on (no API key: the runbooks heal), on a
// real dockerd: three rounds of faults over two opted-in containers; the bystander without the
// label is never touched; every figure of the report is recomputed from the audit and the incidents.
// Then a run stopped by SIGINT undoes the pause it injected and prints what it had.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { AuditLog } from '../../src/store/audit.js';
import { openDb } from '../../src/store/db.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { UNHEALTHY_MARKER } from '../../src/tools/chaos-fault.js';
import type { FaultRecord } from '../../src/commands/chaos-watch.js';
import { CLI, warden } from '../support/cli.js';
import { createContainer, dockerFor, waitUntil, type ContainerOptions } from '../support/containers.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { startProcess, tempDir, waitFor, type Started } from '../support/processes.js';

const POLICY = `rules:
  - name: chaos-may-inject
    principal: chaos
    tool: inject_fault
    decision: allow
  - name: nobody-else-injects
    tool: inject_fault
    decision: deny
`;
// cooldownMinutes 0: each fault is its own incident, so a second OOM of one container in this short
// run is restarted like the first (within a cooldown the runbooks would raise its memory limit).
const CONFIG = 'loop:\n  settleSeconds: 1\n  restoreFirstTiers: []\n  cooldownMinutes: 0\ntools:\n  enabled: [inject_fault]\n';
/** A service that exits 143 on SIGTERM, as real ones do, with the health check the unhealthy fault needs. */
const SERVICE: ContainerOptions = {
  cmd: ['sh', '-c', 'trap "exit 143" TERM; while :; do sleep 1 & wait $!; done'],
  memoryBytes: 24 * 1024 * 1024,
  healthcheck: { test: ['CMD-SHELL', `test ! -e ${UNHEALTHY_MARKER}`], intervalMs: 500, retries: 1 },
};
const OPTED_IN = { 'warden.chaos': 'true' };

let dockerd: Dockerd;
let serve: Started;
let exited: Promise<number | null>;
let env: NodeJS.ProcessEnv;
let dataDir: string;

beforeAll(async () => {
  dockerd = await startDockerd();
  const dir = tempDir('chaos-run');
  dataDir = join(dir, 'data');
  writeFileSync(join(dir, 'warden.yaml'), CONFIG);
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  env = { DOCKER_HOST: dockerd.dockerHost, WARDEN_DATA_DIR: dataDir, WARDEN_CONFIG: join(dir, 'warden.yaml'), WARDEN_POLICY: join(dir, 'policy.yaml') };
  serve = startProcess(process.execPath, [CLI, 'serve', '--port', '0'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_LOG_LEVEL: 'info', ...env } });
  exited = new Promise((resolve) => serve.child.once('exit', (code) => resolve(code)));
  await waitFor('warden serve', async () => /"msg":"warden serve ready"/.test(serve.output()), serve);
}, 120_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) {
    process.kill(serve.pid, 'SIGTERM');
    await exited;
  }
  await dockerd?.stop();
});

async function running(name: string, opts: ContainerOptions): Promise<Docker.Container> {
  const c = await createContainer(dockerd, name, opts);
  await waitUntil(c, 'healthy', (i) => i.State.Health?.Status === 'healthy');
  return c;
}

/** `warden chaos run` as its own process, as an operator starts it beside serve. */
function chaosRun(args: string[]): { proc: Started; done: Promise<{ code: number | null; report: { stopped: string | null; records: FaultRecord[] } }> } {
  const proc = startProcess(process.execPath, [CLI, 'chaos', 'run', '--json', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, WARDEN_LOG_LEVEL: 'warn', ...env } });
  let stdout = '';
  proc.child.stdout?.on('data', (b: Buffer) => { stdout += b.toString(); });
  const done = new Promise<{ code: number | null; report: { stopped: string | null; records: FaultRecord[] } }>((resolve, reject) => proc.child.once('exit', (code) => {
    try {
      resolve({ code, report: JSON.parse(stdout) as { stopped: string | null; records: FaultRecord[] } });
    } catch {
      reject(new Error(`chaos run printed no report (exit ${code}): ${proc.output()}`));
    }
  }));
  return { proc, done };
}

/** For a failure's message: what the loop recorded of an incident. */
function timelineOf(id: string | null): string {
  if (id === null) return 'no incident';
  const db = openDb(dataDir);
  try {
    const store = new IncidentStore(db);
    return JSON.stringify({ incident: store.get(id), timeline: store.timeline(id).map((e) => `${e.time} ${e.kind} ${e.summary}`) }, null, 1);
  } finally {
    db.close();
  }
}

const seconds = (from: string, to: string): number => Math.round(Date.parse(to) - Date.parse(from)) / 1000;

describe('warden chaos run', () => {
  it('injects 3 rounds into opted-in containers only, and its report agrees with the audit and the incidents', async () => {
    await Promise.all([running('chaos-a', { ...SERVICE, labels: OPTED_IN }), running('chaos-b', { ...SERVICE, labels: OPTED_IN })]);
    const bystander = await running('chaos-bystander', SERVICE);
    const bystanderStart = (await bystander.inspect()).State.StartedAt;

    const { code, report } = await chaosRun(['--rounds', '3', '--interval', '1', '--max-concurrent', '2', '--seed', '7', '--faults', 'exit,oom,unhealthy', '--timeout', '60']).done;
    expect(code).toBe(0);
    expect(report.stopped).toBeNull();
    const records = report.records;
    expect(records.map((r) => `${r.round} ${r.container}`).sort()).toEqual(['1 chaos-a', '1 chaos-b', '2 chaos-a', '2 chaos-b', '3 chaos-a', '3 chaos-b']);
    for (const r of records) {
      expect(r, `${JSON.stringify(r)}\n${timelineOf(r.incidentId)}\n${serve.output()}`).toMatchObject({
        outcome: 'injected', escalated: false, incidentId: expect.any(String), detectedAt: expect.any(String), runningAt: expect.any(String), resolvedAt: expect.any(String),
      });
    }

    // The bystander: no fault, no incident, never restarted; only chaos's discovery read it.
    expect((await bystander.inspect()).State).toMatchObject({ Running: true, StartedAt: bystanderStart });
    const db = openDb(dataDir);
    try {
      const audit = new AuditLog(db, null);
      const incidents = new IncidentStore(db);
      const onBystander = audit.search({ target: 'local/chaos-bystander' }, 500).entries;
      expect(onBystander.length).toBeGreaterThan(0);
      expect(onBystander.every((e) => e.tool === 'inspect_container' && e.principal === 'chaos' && e.risk === 'read')).toBe(true);
      expect(incidents.list({ limit: 500 }).filter((i) => i.target === 'local/chaos-bystander')).toEqual([]);

      // Each injection is its own audited call of principal chaos, decided by the policy's rule.
      const injections = audit.search({ tool: 'inject_fault', principal: 'chaos' }, 500).entries.filter((e) => e.phase === 'requested' && !JSON.parse(e.args).undo);
      expect(injections.map((e) => e.callId).sort()).toEqual(records.map((r) => r.callId).sort());
      expect(injections.every((e) => e.rule === 'chaos-may-inject' && e.decision === 'allow')).toBe(true);

      for (const r of records) {
        const requested = audit.list({ callId: r.callId! }).find((e) => e.phase === 'requested')!;
        expect(requested).toMatchObject({ time: r.injectedAt, target: `local/${r.container}` });
        expect(JSON.parse(requested.args)).toMatchObject({ fault: r.fault });
        const inc = incidents.get(r.incidentId!)!;
        expect(inc).toMatchObject({ target: `local/${r.container}`, status: 'resolved', closedAt: r.resolvedAt });
        const firstAlert = incidents.timeline(inc.id).find((e) => e.kind === 'alert' && Date.parse(e.time) >= Date.parse(r.injectedAt!));
        expect(firstAlert?.time).toBe(r.detectedAt);
        expect(r.detectSeconds).toBe(seconds(r.injectedAt!, r.detectedAt!));
        expect(r.resolvedSeconds).toBe(seconds(r.injectedAt!, r.resolvedAt!));
        expect(r.runningSeconds).toBe(seconds(r.injectedAt!, r.runningAt!));
        // What warden did: the calls on the target in the audit, and among them the loop bringing it back.
        const calls = audit.search({ target: `local/${r.container}`, since: r.injectedAt!, until: r.finishedAt! }, 500).entries
          .filter((e) => e.principal !== 'chaos' && e.phase !== 'requested').reverse().map((e) => ({ tool: e.tool, principal: e.principal, phase: e.phase, time: e.time, risk: e.risk, dryRun: e.dryRun }));
        expect(r.actions).toEqual(calls);
        const revived = audit.search({ target: `local/${r.container}`, since: r.injectedAt!, until: r.finishedAt! }, 500).entries
          .find((e) => e.principal === 'loop' && e.phase === 'requested' && /^(start|restart)_container$/.test(e.tool));
        expect(revived, JSON.stringify(calls)).toBeDefined();
        expect(calls).toContainEqual(expect.objectContaining({ tool: revived!.tool, principal: 'loop', phase: 'completed' }));
        // Back running only once the loop had asked Docker to bring it back, and within the watch.
        expect(Date.parse(r.runningAt!)).toBeGreaterThanOrEqual(Date.parse(revived!.time) - 1);
        expect(Date.parse(r.runningAt!)).toBeLessThanOrEqual(Date.parse(r.finishedAt!));
      }
    } finally {
      db.close();
    }
  }, 240_000);

  it('a run stopped by SIGINT undoes the pause it injected and prints what it had', async () => {
    // The only opted-in container left, so the one fault goes there.
    await Promise.all(['chaos-a', 'chaos-b'].map((n) => dockerFor(dockerd).getContainer(n).remove({ force: true }).catch(() => undefined)));
    const c = await running('chaos-paused', { ...SERVICE, labels: OPTED_IN });
    const { proc, done } = chaosRun(['--faults', 'pause', '--timeout', '120']);
    // Paused: warden leaves that to people, so the run would watch until its timeout.
    await waitUntil(c, 'paused', (i) => i.State.Paused, 60_000);
    process.kill(proc.pid, 'SIGINT');
    const { code, report } = await done;
    expect(code).toBe(1);
    expect(report.stopped).toMatch(/^SIGINT/);
    expect(report.records.filter((r) => r.container !== 'chaos-paused')).toEqual([]);
    expect(report.records).toEqual([expect.objectContaining({ container: 'chaos-paused', fault: 'pause', outcome: 'injected', restored: 'unpaused', runningAt: null })]);
    expect((await c.inspect()).State).toMatchObject({ Paused: false, Running: true });
  }, 120_000);

  it('leaves the audit chain verifying', async () => {
    process.kill(serve.pid, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(warden(['audit', 'verify'], env)).toMatchObject({ status: 0, stdout: expect.stringMatching(/^ok: \d+ entries/) });
  }, 60_000);
});
