// The loop's section of the config file. Secrets (the API key, Grafana's HMAC secret) are named
// by environment variable, never written in the file.
import { z } from 'zod';
import { DEFAULT_MODEL } from './models.js';

const Seconds = z.number().positive();

/**
 * An endpoint a model's prompts (incident data, tool output) are sent to: http or https, and no
 * user:password@ (a secret goes in the variable apiKeyEnv names, never in the file), no query or fragment.
 */
const urlOf = (u: string): URL | undefined => (URL.canParse(u) ? new URL(u) : undefined);
const ModelEndpoint = z.url({ protocol: /^https?$/, error: 'an http(s) URL, e.g. http://127.0.0.1:11434/v1' })
  .refine((u) => { const url = urlOf(u); return !url || (url.username === '' && url.password === ''); }, 'no user:password@ in the URL: name the key with apiKeyEnv')
  .refine((u) => { const url = urlOf(u); return !url || (url.search === '' && url.hash === ''); }, 'no query or fragment: the API root only, e.g. http://127.0.0.1:11434/v1');

/**
 * The first level of model: a local model behind an OpenAI-compatible chat-completions API (Ollama,
 * llama.cpp's server, vLLM) that looks at an incident before Claude, with a subset of the tools, as
 * principal loop-n1 (the policy can give it rules of its own), under budgets of its own. It resolves
 * the incident (its fix verified like Claude's) or hands it to Claude with its findings.
 */
export const FirstLevelConfig = z.strictObject({
  baseUrl: ModelEndpoint.describe('the API root; requests go to <baseUrl>/chat/completions'),
  model: z.string().min(1).max(200),
  apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('variable holding a bearer key; none is sent without it'),
  tools: z.array(z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a tool name')).max(64).optional()
    .describe('the tools it is offered and may call; default: every read tool and run_runbook'),
  budgets: z
    .strictObject({
      turns: z.number().int().positive().max(50).default(6),
      tokens: z.number().int().positive().default(60_000),
      wallSeconds: Seconds.max(3_600).default(120),
    })
    .default({ turns: 6, tokens: 60_000, wallSeconds: 120 }),
  /** One HTTP request to the model; a timeout counts against its circuit breaker. */
  requestTimeoutMs: z.number().int().min(1_000).max(600_000).default(60_000),
});
export type FirstLevelConfig = z.infer<typeof FirstLevelConfig>;

export const LoopConfig = z.strictObject({
  enabled: z.boolean().default(true),
  /** Model and endpoint; the key comes from the variable named here (default ANTHROPIC_API_KEY). */
  model: z.string().min(1).default(DEFAULT_MODEL),
  apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).default('ANTHROPIC_API_KEY'),
  baseURL: z.url().optional().describe('default: ANTHROPIC_BASE_URL, else the SDK default'),
  maxRetries: z.number().int().min(0).max(10).default(3),
  /** One HTTP attempt to the Messages API; a timeout counts against its circuit breaker. */
  requestTimeoutSeconds: Seconds.max(600).default(120),
  budgets: z
    .strictObject({
      turns: z.number().int().positive().max(100).default(12),
      tokens: z.number().int().positive().default(200_000),
      wallSeconds: Seconds.default(300),
      dailyUsd: z.number().nonnegative().default(20),
      /** USD per million tokens, for the daily estimate. */
      inputUsdPerMTok: z.number().nonnegative().default(3),
      outputUsdPerMTok: z.number().nonnegative().default(15),
    })
    .default({ turns: 12, tokens: 200_000, wallSeconds: 300, dailyUsd: 20, inputUsdPerMTok: 3, outputUsdPerMTok: 15 }),
  concurrency: z.number().int().positive().max(32).default(4),
  /** How long a fixed container must stay running (and healthy) before the incident is resolved. */
  settleSeconds: Seconds.default(15),
  /** A fingerprint that fires again this soon after it closed is flapping. */
  cooldownMinutes: z.number().nonnegative().default(10),
  /** Re-openings within the cooldown after which the loop stops acting and escalates. */
  flapLimit: z.number().int().positive().default(3),
  /** Most actions the loop takes on one incident before it escalates. */
  maxAttempts: z.number().int().positive().default(3),
  /** Tiers where a deterministic runbook acts first and Claude investigates after. */
  restoreFirstTiers: z.array(z.string()).default(['standard', 'batch']),
  watchDockerEvents: z.boolean().default(true),
  /** Run the probes and host thresholds the inventory declares (services' and hosts' `monitor`). */
  monitors: z.boolean().default(true),
  /**
   * The loop switches its own writes to dry run when they keep failing or failing verification:
   * more than `failureRate` of at least `minWrites` in `windowMinutes`, or `consecutive` in a row.
   * Only a human re-arms it (`warden loop arm`).
   */
  safeMode: z
    .strictObject({
      enabled: z.boolean().default(true),
      windowMinutes: z.number().positive().max(24 * 60).default(30),
      minWrites: z.number().int().positive().default(4),
      failureRate: z.number().gt(0).lt(1).default(0.5).describe('a fraction: 0.5 means more than half'),
      consecutive: z.number().int().positive().default(5),
    })
    .default({ enabled: true, windowMinutes: 30, minWrites: 4, failureRate: 0.5, consecutive: 5 }),
  /**
   * A dead man's switch: warden calls this URL every `intervalSeconds` while the loop and its
   * watchers are healthy (an Uptime Kuma push monitor, a healthchecks.io check), so someone learns
   * when warden itself is down or wedged.
   */
  heartbeat: z
    .strictObject({
      url: z.url().describe('the push URL; a GET is sent'),
      intervalSeconds: Seconds.max(3_600).default(60),
    })
    .optional(),
  /** Off unless set: see FirstLevelConfig. */
  firstLevel: FirstLevelConfig.optional(),
  grafanaSecretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('variable holding the Grafana webhook HMAC secret'),
});
export type LoopConfig = z.infer<typeof LoopConfig>;

export const LOOP_DEFAULTS: LoopConfig = LoopConfig.parse({});
