// Time from a container's death to it running again through the loop, on a real dockerd: Docker's
// die event -> the event watcher -> intake (incident) -> runner -> the agent with the real SDK against
// the scripted Messages API (no added latency: inspect_container, start_container, a summary) ->
// the start through the gate -> the runner's verification (settleSeconds, default 1) -> resolved.
// Each run uses a fresh container that exits with code 1 a second after it starts, once. The split
// per run: detection (exit -> incident created), pickup (incident -> the runner starts Claude), the
// model's turns (sum of the Messages API latencies), the tools the model called (audited durations),
// verification, and the totals. Medians over the runs; it asserts nothing and is not a test.
//
// Run: npm run bench:loop [-- --runs 10 --settle 1]
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '10' }, settle: { type: 'string', default: '1' } } });
const RUNS = Number(flags.runs);
const SETTLE = Number(flags.settle);
const runDir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
process.env.WARDEN_TEST_RUN_DIR = runDir;

const { startDockerd } = await import('../test/support/dockerd.js');
const { createContainer } = await import('../test/support/containers.js');
const { startLoopWorld } = await import('../test/support/loop-world.js');
const { killRecorded } = await import('../test/support/processes.js');
type Turn = import('../test/support/messages-api.js').ScriptedTurn;

/** Exits 1 a second after its first start; runs on after any later start (its marker survives). */
const CRASH_ONCE = ['sh', '-c', 'if [ -f /died ]; then exec sleep 100000; fi; touch /died; sleep 1; exit 1'];
const names = ['rec-warmup', ...Array.from({ length: RUNS }, (_, i) => `rec-${i}`)];
const script: Turn[] = names.flatMap((name): Turn[] => [
  { content: [{ type: 'tool_use', name: 'inspect_container', input: { container: name } }] },
  { content: [{ type: 'tool_use', name: 'start_container', input: { container: name, waitSeconds: 0 } }] },
  { content: [{ type: 'text', text: `${name} exited with code 1; started it again.` }] },
]);

const ms = (a: string, b: string): number => Date.parse(b) - Date.parse(a);
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };

interface Split { detection: number; pickup: number; model: number; modelTurns: number; tools: number; agent: number; verification: number; running: number; resolved: number }

const dockerd = await startDockerd();
const w = await startLoopWorld({ dockerd, script, loop: `settleSeconds: ${SETTLE}` });
try {
  const rows: Split[] = [];
  for (const name of names) {
    const c = await createContainer(dockerd, name, { cmd: CRASH_ONCE });
    const inc = await w.incident((i) => i.container === name, ['resolved', 'escalated'], 120_000);
    if (inc.status !== 'resolved') throw new Error(`${name}: ${inc.status}: ${inc.resolution}`);
    const state = (await c.inspect()).State;
    const tl = w.loop.incidents.timeline(inc.id);
    const at = (kind: string, re: RegExp): string => tl.find((e) => e.kind === kind && re.test(e.summary))!.time;
    const turns = tl.filter((e) => e.kind === 'model' && typeof (e.data as { latencyMs?: unknown } | null)?.latencyMs === 'number');
    const calls = w.rt.audit.forIncident(inc.id).filter((e) => e.phase === 'completed' && ['inspect_container', 'start_container'].includes(e.tool));
    const agentEnd = at('model', /^agent done/);
    const verifying = at('status', /^verifying after/);
    rows.push({
      detection: ms(state.FinishedAt, inc.openedAt),
      pickup: ms(inc.openedAt, at('status', /^Claude investigates/)),
      model: turns.reduce((n, e) => n + (e.data as { latencyMs: number }).latencyMs, 0),
      modelTurns: turns.length,
      // The model's own calls only: the runner's verification reads come after its last turn.
      tools: calls.filter((e) => e.time <= agentEnd).reduce((n, e) => n + (e.durationMs ?? 0), 0),
      agent: ms(at('status', /^Claude investigates/), agentEnd),
      verification: ms(verifying, at('verify', /^verified/)),
      running: ms(state.FinishedAt, state.StartedAt),
      resolved: ms(state.FinishedAt, inc.closedAt!),
    });
  }
  const measured = rows.slice(1);
  console.log(`loop recovery: ${measured.length} runs (+1 warm-up), settleSeconds ${SETTLE}; node ${process.version}, ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`);
  console.log('run   detection  pickup  model(turns)  tools  agent  verify  exit->running  exit->resolved   (ms)');
  measured.forEach((r, i) => console.log(
    `${String(i).padStart(3)} ${String(r.detection).padStart(11)} ${String(r.pickup).padStart(7)} ${`${r.model}(${r.modelTurns})`.padStart(13)} ${String(r.tools).padStart(6)} ${String(r.agent).padStart(6)} ${String(r.verification).padStart(7)} ${String(r.running).padStart(14)} ${String(r.resolved).padStart(15)}`));
  const m = (k: keyof Split): number => median(measured.map((r) => r[k]));
  console.log(`median ${String(m('detection')).padStart(8)} ${String(m('pickup')).padStart(7)} ${String(m('model')).padStart(13)} ${String(m('tools')).padStart(6)} ${String(m('agent')).padStart(6)} ${String(m('verification')).padStart(7)} ${String(m('running')).padStart(14)} ${String(m('resolved')).padStart(15)}`);
  console.log(`model requests: ${w.api!.requests.length} (${script.length} scripted); audit chain: ${JSON.stringify(w.rt.audit.verify())}`);
} finally {
  await w.close();
  await dockerd.stop();
  killRecorded();
  rmSync(runDir, { recursive: true, force: true });
}
