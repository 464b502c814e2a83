// Prometheus metrics of the daemon, in a registry of its own (never prom-client's global one, so
// two daemons in one process do not share counters). Tool calls are counted from the guard's
// last audit entry of each call; nothing here changes what a call does.
import { loadOnUse } from '../shared/load-on-use.js';
import type { Registry } from 'prom-client';
import type { BreakerView } from '../adapters/breakers.js';
import type { AuditInput } from '../store/audit.js';
import type { ApprovalStore } from '../store/approvals.js';
import type { MonitorStateRow } from '../store/monitor-states.js';
import type { IncidentReport } from '../store/incident-report.js';
import { reportGauges } from './report-metrics.js';

/** prom-client (and the OpenTelemetry API it pulls in) is loaded only by a process that keeps metrics. */
const promClient = (): typeof import('prom-client') => loadOnUse<typeof import('prom-client')>('prom-client');

export interface Metrics {
  /** The guard's observer: one count per call, and how long its handler ran when it ran. */
  observeCall(entry: AuditInput): void;
  observeHttp(route: string, status: number): void;
  /** A policy file reload: a failed one leaves the last good policy in force and sets the alarm gauge. */
  observePolicyReload(ok: boolean): void;
  render(): Promise<string>;
  contentType: string;
}

/** `tools`: the catalog's names; any other name a client sends is counted as `unknown`, so clients cannot grow the label set. */
export function createMetrics(approvals: ApprovalStore, tools: readonly string[], monitors?: () => MonitorStateRow[], self?: SelfReadings): Metrics {
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = promClient();
  const known = new Set(tools);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (monitors) monitorGauges(registry, monitors);
  if (self) selfGauges(registry, self);
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

/** For a process that serves no /metrics (stdio, the commands): counts nothing and never loads prom-client. */
export function noMetrics(): Metrics {
  const ignore = (): void => undefined;
  return { observeCall: ignore, observeHttp: ignore, observePolicyReload: ignore, render: async () => '', contentType: 'text/plain; version=0.0.4; charset=utf-8' };
}

/** 1 for a probe that is up or a threshold that is not firing; 0 for down or firing; absent while unknown (pending, unreadable). */
const healthy = (r: MonitorStateRow): number | undefined => {
  if (r.kind === 'probe') return r.state === 'up' ? 1 : r.state === 'down' ? 0 : undefined;
  return r.state === 'firing' ? 0 : r.state === 'unknown' ? undefined : 1;
};

/** What warden knows of its own health, read at each scrape. */
export interface SelfReadings {
  breakers(): BreakerView[];
  safeMode(): boolean;
  /** Notifications not delivered yet. */
  pendingNotifications?(): number;
  /** `warden report`'s figures from `since` to now, over at most `maxIncidents` (report-metrics.ts: the last 30 days, read at most once a minute). */
  report?(since: string, maxIncidents: number): IncidentReport;
}

const BREAKER_LEVEL = { closed: 0, half_open: 1, open: 2 } as const;

/** Readings that fail (a database that cannot be read) leave the gauge unset rather than failing the scrape. */
function selfGauges(registry: Registry, self: SelfReadings): void {
  const { Gauge } = promClient();
  new Gauge({
    name: 'warden_breaker_state', help: 'Each circuit breaker of this process: 0 closed, 1 half-open (a trial call), 2 open.', labelNames: ['breaker', 'kind'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const b of self.breakers()) this.set({ breaker: b.name, kind: b.kind }, BREAKER_LEVEL[b.state]);
    },
  });
  new Gauge({
    name: 'warden_loop_safe_mode', help: "1 while the loop's writes are dry runs because they kept failing (until warden loop arm).", registers: [registry],
    collect() {
      try { this.set(self.safeMode() ? 1 : 0); } catch { this.reset(); }
    },
  });
  const report = self.report;
  if (report) reportGauges(registry, (since, max) => report.call(self, since, max));
  const pending = self.pendingNotifications;
  if (pending) {
    new Gauge({
      name: 'warden_notifications_pending', help: 'Notifications in the outbox not delivered yet.', registers: [registry],
      collect() {
        try { this.set(pending()); } catch { this.reset(); }
      },
    });
  }
}

/**
 * warden's own monitors, from their saved states (the daemon running them saves each change at once).
 * Labels come from the inventory, so their number is bounded by what an operator declared.
 */
function monitorGauges(registry: Registry, monitors: () => MonitorStateRow[]): void {
  const { Gauge } = promClient();
  const labelNames = ['monitor', 'kind', 'subject'] as const;
  // One read of the table per scrape: the three gauges collect one after the other.
  let rows: MonitorStateRow[] = [];
  let readAt = -Infinity;
  const refresh = (): void => {
    if (performance.now() - readAt < 1_000) return;
    readAt = performance.now();
    try { rows = monitors(); } catch { rows = []; }
  };
  new Gauge({
    name: 'warden_monitor_up', help: "1 when warden's monitor finds it well (a probe up, a threshold not firing), 0 when not.", labelNames, registers: [registry],
    collect() {
      refresh();
      this.reset();
      for (const r of rows) {
        const v = healthy(r);
        if (v !== undefined) this.set({ monitor: r.id, kind: r.kind, subject: r.subject }, v);
      }
    },
  });
  new Gauge({
    name: 'warden_monitor_value', help: 'The last reading: probe latency in seconds, TLS days left, threshold level (% or °C).', labelNames, registers: [registry],
    collect() {
      refresh();
      this.reset();
      for (const r of rows) if (r.value !== null) this.set({ monitor: r.id, kind: r.kind, subject: r.subject }, r.kind === 'probe' ? r.value / 1000 : r.value);
    },
  });
  new Gauge({
    name: 'warden_monitor_last_change_timestamp_seconds', help: "When the monitor's state last changed (Unix time).", labelNames, registers: [registry],
    collect() {
      refresh();
      this.reset();
      for (const r of rows) this.set({ monitor: r.id, kind: r.kind, subject: r.subject }, Date.parse(r.since) / 1000);
    },
  });
}
