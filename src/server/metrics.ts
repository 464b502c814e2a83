// Prometheus metrics of the daemon, in a registry of its own (never prom-client's global one, so
// two daemons in one process do not share counters). Tool calls are counted from the guard's
// last audit entry of each call; nothing here changes what a call does.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditInput } from '../store/audit.js';
import type { ApprovalStore } from '../store/approvals.js';

export interface Metrics {
  registry: Registry;
  /** The guard's observer: one count per call, and how long its handler ran when it ran. */
  observeCall(entry: AuditInput): void;
  observeHttp(route: string, status: number): void;
  /** A policy file reload: a failed one leaves the last good policy in force and sets the alarm gauge. */
  observePolicyReload(ok: boolean): void;
  render(): Promise<string>;
  contentType: string;
}

/** `tools`: the catalog's names; any other name a client sends is counted as `unknown`, so clients cannot grow the label set. */
export function createMetrics(approvals: ApprovalStore, tools: readonly string[]): Metrics {
  const known = new Set(tools);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const calls = new Counter({
    name: 'warden_tool_calls_total',
    help: 'Tool calls by tool, gate decision and outcome (the phase of the last audit entry).',
    labelNames: ['tool', 'decision', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'warden_tool_call_duration_seconds',
    help: 'How long tool handlers ran, for calls that ran (completed or failed after running).',
    labelNames: ['tool'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'warden_approvals_pending',
    help: 'Approval requests waiting for a decision, not expired.',
    registers: [registry],
    collect() {
      this.set(approvals.countPending());
    },
  });
  const http = new Counter({
    name: 'warden_http_requests_total',
    help: 'HTTP requests by route and response status.',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const reloadFailed = new Gauge({
    name: 'warden_policy_reload_failed',
    help: '1 while the policy file on disk is invalid and the last good policy stays in force.',
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'warden_policy_reloads_total',
    help: 'Policy file reloads that changed the policy or failed, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return {
    registry,
    observePolicyReload(ok) {
      reloads.inc({ outcome: ok ? 'ok' : 'failed' });
      reloadFailed.set(ok ? 0 : 1);
    },
    contentType: registry.contentType,
    observeCall(entry) {
      const tool = known.has(entry.tool) ? entry.tool : 'unknown';
      calls.inc({ tool, decision: entry.decision ?? 'none', outcome: entry.phase });
      if (entry.durationMs !== null && entry.durationMs !== undefined && !entry.dryRun) duration.observe({ tool }, entry.durationMs / 1000);
    },
    observeHttp(route, status) {
      http.inc({ route, status: String(status) });
    },
    render: () => registry.metrics(),
  };
}
