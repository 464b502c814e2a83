// The runner over a warden runtime on a scriptable fake Docker, with a stand-in agent: what the
// runner does with each agent outcome, without a Messages API. The stand-in makes its calls through
// the real loop client, so the guard and the audit see them as they would see Claude's.
import { afterEach } from 'vitest';
import { Intake } from '../../src/loop/intake.js';
import type { ContainerDetails } from '../../src/adapters/docker.js';
import { silentLogger } from '../../src/log.js';
import type { AgentResult } from '../../src/loop/agent.js';
import type { NormalizedAlert } from '../../src/shared/alerts.js';
import type { AgentRequest } from '../../src/loop/flow-steps.js';
import { callLoopTool } from '../../src/loop/loop-call.js';
import { runnerDeps } from '../../src/loop/loop-service.js';
import type { Notification, Notifier } from '../../src/shared/notifier.js';
import { Runner } from '../../src/loop/runner.js';
import type { Incident } from '../../src/shared/incidents.js';
import type { Runtime } from '../../src/server/runtime.js';
import { IncidentStore } from '../../src/store/incidents.js';
import type { ToolCallRecord } from '../../src/loop/tool-bridge.js';
import { FakeDocker, fakeAdapters } from './fake-docker.js';
import { testRuntime } from './warden.js';

/** FakeDocker whose inspect answers carry per-container overrides, and whose start/restart run a hook. */
export class ScriptedDocker extends FakeDocker {
  readonly overrides = new Map<string, Partial<ContainerDetails>>();
  /** Called on start_container and restart_container; default: the container runs from now on. */
  onStart: (name: string) => void = (name) => this.set(name, { status: 'running', running: true, exitCode: 0, oomKilled: false, startedAt: new Date().toISOString(), finishedAt: null });

  set(name: string, d: Partial<ContainerDetails>): void {
    this.overrides.set(name, { ...this.overrides.get(name), ...d });
    const row = this.containers.find((c) => c.name === name);
    if (row && d.status) row.state = d.status;
  }

  override async inspectContainer(ref: string): Promise<ContainerDetails> {
    return { ...(await super.inspectContainer(ref)), ...this.overrides.get(ref) };
  }

  override async startContainer(ref: string): Promise<void> {
    await super.startContainer(ref);
    this.onStart(ref);
  }

  override async restartContainer(ref: string): Promise<void> {
    await super.restartContainer(ref);
    this.onStart(ref);
  }

  /** How many start and restart requests reached Docker for this container. */
  starts(name: string): number {
    return this.calls.filter((c) => c === `start ${name}` || c === `restart ${name}`).length;
  }
}

export type StandIn = (req: AgentRequest, call: (tool: string, args: Record<string, unknown>) => Promise<ToolCallRecord>) => Promise<Partial<AgentResult>>;

export interface RunnerWorld {
  rt: Runtime;
  docker: ScriptedDocker;
  incidents: IncidentStore;
  runner: Runner;
  agentRuns: AgentRequest[];
  notifications: Notification[];
  /** Opens an incident on local/<container> and wakes the runner. */
  open(container: string, alert?: Partial<NormalizedAlert>): Incident;
  /** The alert of open(container) resolves, through the intake as a monitor's resolve arrives. */
  resolve(container: string): void;
  /** Until the incident reaches one of these statuses (default: closed). */
  until(id: string, statuses?: string[], timeoutMs?: number): Promise<Incident>;
  close(): Promise<void>;
}

export interface RunnerWorldOptions {
  agent?: StandIn;
  policy?: string;
  /** YAML of the config's `loop:` section, indented by two spaces. */
  loop?: string;
  inventory?: Record<string, string>;
  /** Start the runner (resume active incidents, poll approvals) at once (default true). */
  start?: boolean;
}

function recordingNotifier(into: Notification[]): Notifier {
  return { send: (n) => { into.push(n); }, flush: async () => undefined };
}

export function runnerWorld(opts: RunnerWorldOptions = {}): RunnerWorld {
  const docker = new ScriptedDocker();
  const notifications: Notification[] = [];
  const rt = testRuntime({
    adapters: fakeAdapters(docker), notifier: recordingNotifier(notifications), policy: opts.policy, inventory: opts.inventory,
    config: `loop:\n  settleSeconds: 0.3\n${opts.loop?.includes('restoreFirstTiers') ? '' : '  restoreFirstTiers: []\n'}${opts.loop ?? ''}`,
  });
  const incidents = new IncidentStore(rt.db);
  const agentRuns: AgentRequest[] = [];
  const agent = async (req: AgentRequest): Promise<AgentResult> => {
    agentRuns.push(req);
    const actions: ToolCallRecord[] = [];
    const call = async (tool: string, args: Record<string, unknown>): Promise<ToolCallRecord> => {
      const r = await callLoopTool(req.client, tool, args);
      const record: ToolCallRecord = { tool, args, ok: r.ok, text: r.text, ...(r.kind ? { kind: r.kind } : {}), ...(r.approvalId ? { approvalId: r.approvalId } : {}), ...(r.notRun ? { notRun: r.notRun } : {}) };
      actions.push(record);
      return record;
    };
    const out = opts.agent ? await opts.agent(req, call) : { outcome: 'unreachable' as const, summary: 'no stand-in agent' };
    return { outcome: 'done', summary: '', actions, turns: 1, inputTokens: 0, outputTokens: 0, ...out };
  };
  const runner = new Runner(runnerDeps(rt, incidents, agent, silentLogger), { approvalPollMs: 100 });
  const intake = new Intake(incidents, rt.inventory, runner, rt.config.loop, silentLogger);
  if (opts.start ?? true) void runner.start();
  return {
    rt, docker, incidents, runner, agentRuns, notifications,
    open(container, alert = {}) {
      const inc = incidents.create({
        source: 'generic', fingerprint: `test:${container}`, status: 'firing', severity: 'critical', summary: `${container} is down`,
        startsAt: new Date().toISOString(), labels: {}, annotations: {}, hints: { container }, ...alert,
      }, { target: `local/${container}`, host: 'local', container, service: null });
      runner.wake(inc.id);
      return inc;
    },
    resolve(container) {
      intake.ingest([{
        source: 'generic', fingerprint: `test:${container}`, status: 'resolved', severity: 'critical', summary: `${container} is up again`,
        startsAt: new Date().toISOString(), labels: {}, annotations: {}, hints: { container },
      }]);
    },
    async until(id, statuses = ['resolved', 'escalated'], timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const inc = incidents.get(id)!;
        if (statuses.includes(inc.status)) return inc;
        if (Date.now() > deadline) throw new Error(`incident ${id} is ${inc.status}, not ${statuses.join('/')}; timeline:\n${incidents.timeline(id).map((e) => `${e.kind}: ${e.summary}`).join('\n')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      await runner.stop();
      await rt.close();
    },
  };
}

/** Call at the top level of a test file: `world()` makes one, stopped and closed after its test. */
export function useRunnerWorlds(): (opts?: RunnerWorldOptions) => RunnerWorld {
  const open: RunnerWorld[] = [];
  afterEach(async () => {
    for (const w of open.splice(0)) await w.close();
  });
  return (opts = {}) => {
    const w = runnerWorld(opts);
    open.push(w);
    return w;
  };
}
