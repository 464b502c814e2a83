// The first level as `warden serve` runs it, when config loop.firstLevel is set: its chat client
// (the OpenAI-compatible endpoint), its circuit breaker, and its agent, as the runner calls it.
import type { BreakerBoard } from '../adapters/breakers.js';
import { chatClient } from '../adapters/chat-completions.js';
import type { Logger } from '../log.js';
import type { Guard } from '../policy/guard.js';
import type { IncidentLog } from '../shared/incidents.js';
import { LOOP_N1_PRINCIPAL } from '../shared/roles.js';
import type { FirstLevelConfig } from './config.js';
import { firstLevelBreaker, runFirstLevel } from './first-level-agent.js';
import type { AgentRequest, FirstLevel } from './flow-steps.js';
import type { PromptFacts } from './prompt.js';

export interface FirstLevelDeps {
  cfg: FirstLevelConfig | undefined;
  /** The key the variable loop.firstLevel.apiKeyEnv names (config.ts resolved it), if any. */
  apiKey: string | undefined;
  breakers: BreakerBoard;
  guard: Pick<Guard, 'notAttempted'>;
  incidents: IncidentLog;
  facts(req: AgentRequest): PromptFacts;
  log: Logger;
}

/** Undefined when no first level is configured: Claude goes first, as before. */
export function firstLevelFor(d: FirstLevelDeps): FirstLevel | undefined {
  const cfg = d.cfg;
  if (!cfg) return undefined;
  if (cfg.apiKeyEnv && !d.apiKey) d.log.warn({ apiKeyEnv: cfg.apiKeyEnv }, `loop.firstLevel.apiKeyEnv names ${cfg.apiKeyEnv}, which is unset or empty: requests go without a key`);
  d.log.info({ model: cfg.model, endpoint: new URL(cfg.baseUrl).origin }, 'first-level model configured: it looks at incidents before Claude');
  const chat = chatClient({ baseUrl: cfg.baseUrl, ...(d.apiKey ? { apiKey: d.apiKey } : {}), timeoutMs: cfg.requestTimeoutMs });
  const breaker = firstLevelBreaker(d.breakers, cfg.requestTimeoutMs);
  return {
    model: cfg.model,
    run: (req) => runFirstLevel({
      incident: req.incident, facts: d.facts(req), client: req.client, chat, cfg, log: d.incidents, signal: req.signal, logger: d.log, breaker,
      notAttempted: (use, reason) => d.guard.notAttempted({ principal: LOOP_N1_PRINCIPAL, role: 'operator', transport: 'loop', incidentId: req.incident.id }, use.name, use.input, reason),
    }),
  };
}
