// One agent run's world for a test: a warden runtime (fake or real Docker), an incident in its real
// IncidentStore, the loop client, and the real @anthropic-ai/sdk pointed at a scripted Messages API.
import { LOOP_PRINCIPAL } from '../../src/shared/roles.js';
import Anthropic from '@anthropic-ai/sdk';
import type { Adapters } from '../../src/adapters/index.js';
import { silentLogger } from '../../src/log.js';
import { runAgent, type AgentOptions, type AgentResult } from '../../src/loop/agent.js';
import type { NormalizedAlert } from '../../src/shared/alerts.js';
import { LoopConfig } from '../../src/loop/config.js';
import type { LoopClient } from '../../src/loop/loop-client.js';
import type { Incident } from '../../src/shared/incidents.js';
import type { Runtime } from '../../src/server/runtime.js';
import { IncidentStore } from '../../src/store/incidents.js';
import { startMessagesApi, type MessagesApi, type ScriptedTurn } from './messages-api.js';
import { testRuntime } from './warden.js';

export const TEST_MODEL = 'claude-test-model';

export interface AgentWorld {
  rt: Runtime;
  api: MessagesApi;
  loop: LoopClient;
  /** The real store the agent writes the timeline and model calls to. */
  log: IncidentStore;
  incident: Incident;
  anthropic: Anthropic;
  cfg: LoopConfig;
  run(overrides?: Partial<AgentOptions>): Promise<AgentResult>;
  close(): Promise<void>;
}

export interface AgentWorldOptions {
  script: ScriptedTurn[];
  policy?: string;
  adapters?: Adapters;
  dockerHost?: string;
  /** Merged over LoopConfig's defaults (budgets merged field by field). */
  loop?: { maxRetries?: number; budgets?: Partial<LoopConfig['budgets']> };
  alert?: Partial<NormalizedAlert>;
  target?: { host: string; container: string };
}

export function testAlert(overrides: Partial<NormalizedAlert> = {}): NormalizedAlert {
  return {
    source: 'alertmanager', fingerprint: 'fp-db-down', status: 'firing', severity: 'critical',
    summary: 'db is down: container exited with code 1', startsAt: '2026-11-23T10:00:00Z',
    labels: { alertname: 'ContainerDown', container: 'db' }, annotations: {}, hints: { container: 'db' },
    ...overrides,
  };
}

export async function agentWorld(opts: AgentWorldOptions): Promise<AgentWorld> {
  const rt = testRuntime({ policy: opts.policy, adapters: opts.adapters, dockerHost: opts.dockerHost });
  const log = new IncidentStore(rt.db);
  const target = opts.target ?? { host: 'local', container: 'db' };
  const incident = log.create(testAlert(opts.alert), { target: `${target.host}/${target.container}`, host: target.host, container: target.container, service: null });
  const api = await startMessagesApi(opts.script);
  const loop = await rt.connectLoopClient(incident.id);
  const anthropic = new Anthropic({ baseURL: api.baseURL, apiKey: 'test-key' });
  const cfg = LoopConfig.parse({
    model: TEST_MODEL, maxRetries: opts.loop?.maxRetries ?? 2,
    budgets: { ...LoopConfig.parse({}).budgets, ...opts.loop?.budgets },
  });
  return {
    rt, api, loop, log, incident, anthropic, cfg,
    run: (overrides = {}) => runAgent({
      incident, facts: {}, client: loop.client, anthropic, cfg, log, logger: silentLogger,
      notAttempted: (use, reason) => rt.guard.notAttempted({ principal: LOOP_PRINCIPAL, role: 'operator', transport: 'loop', incidentId: incident.id }, use.name, use.input, reason),
      ...overrides,
    }),
    async close() {
      await loop.close();
      await api.close();
      await rt.close();
    },
  };
}

/** Text of a tool_result block as the scripted API received it. */
export function toolResultText(body: any, index = -1): { content: string; isError: boolean } | undefined {
  const msgs: any[] = body?.messages ?? [];
  const results = msgs.flatMap((m) => (Array.isArray(m.content) ? m.content : []).filter((b: any) => b?.type === 'tool_result'));
  const r = results.at(index);
  return r ? { content: typeof r.content === 'string' ? r.content : JSON.stringify(r.content), isError: r.is_error === true } : undefined;
}
