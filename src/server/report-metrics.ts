// `warden report`'s figures as Prometheus gauges, over the last 30 days at each scrape. The report
// is read at most once a minute (every gauge of a scrape shares it); a read that fails leaves the
// gauges absent rather than failing the scrape. Label values are fixed words, except `model`,
// which is bounded by the models the config names (and the report's cap of 20).
import type { Registry } from 'prom-client';
import { loadOnUse } from '../shared/load-on-use.js';
import type { IncidentReport } from '../store/incident-report.js';
import type { DurationFigure } from '../store/report-figures.js';

/** The window the metrics cover, fixed so a dashboard compares like with like. */
export const REPORT_METRICS_WINDOW_MS = 30 * 86_400_000;
/** At most one report read per minute, however often Prometheus scrapes. */
export const REPORT_METRICS_CACHE_MS = 60_000;
/**
 * The scrape reads the report on the server's event loop: the newest 10,000 incidents at most
 * (about a tenth of a second on a small machine), where `warden report` reads up to 50,000.
 */
export const REPORT_METRICS_MAX_INCIDENTS = 10_000;

const promClient = (): typeof import('prom-client') => loadOnUse<typeof import('prom-client')>('prom-client');

const STATS = [['mean', 'meanSeconds'], ['median', 'medianSeconds'], ['p90', 'p90Seconds']] as const;

/** `read(since, max)`: the report from `since` to now over at most `max` incidents. */
export function reportGauges(registry: Registry, read: (since: string, maxIncidents: number) => IncidentReport, now: () => number = Date.now): void {
  const { Gauge } = promClient();
  let report: IncidentReport | undefined;
  let readAt = -Infinity;
  const current = (): IncidentReport | undefined => {
    if (performance.now() - readAt < REPORT_METRICS_CACHE_MS) return report;
    readAt = performance.now();
    try { report = read(new Date(now() - REPORT_METRICS_WINDOW_MS).toISOString(), REPORT_METRICS_MAX_INCIDENTS); } catch { report = undefined; }
    return report;
  };
  const durations = (set: (labels: Record<string, string>, v: number) => void, f: DurationFigure, labels: Record<string, string> = {}): void => {
    for (const [stat, key] of STATS) if (f[key] !== null) set({ ...labels, stat }, f[key]);
  };
  const gauge = (name: string, help: string, labelNames: readonly string[], fill: (r: IncidentReport, set: (labels: Record<string, string>, v: number) => void) => void): void => {
    new Gauge({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        const r = current();
        if (r) fill(r, (labels, v) => this.set(labels, v));
      },
    });
  };
  gauge('warden_incidents', 'Incidents opened in the last 30 days, by state now (opened is all of them).', ['state'], (r, set) => {
    for (const [state, n] of Object.entries(r.incidents)) set({ state }, n);
  });
  gauge('warden_incidents_mttd_seconds', "Alert start to incident opened, last 30 days: mean, median, p90 (absent without a usable start).", ['stat'], (r, set) => durations(set, r.mttd));
  gauge('warden_incidents_mttr_seconds', 'Incident opened to the first passing verification (running) or to resolved, closed incidents of the last 30 days.', ['stage', 'stat'], (r, set) => {
    durations(set, r.mttrRunning, { stage: 'running' });
    durations(set, r.mttrResolved, { stage: 'resolved' });
  });
  gauge('warden_incidents_ratio', 'Auto-fix, escalation and false-positive rates of closed incidents, recurrence of all, last 30 days (0-1; absent with nothing to count).', ['figure'], (r, set) => {
    for (const [figure, f] of [['auto_fix', r.autoFix], ['escalation', r.escalation], ['false_positive', r.falsePositive], ['recurrence', r.recurrence]] as const) {
      if (f.rate !== null) set({ figure }, f.rate);
    }
  });
  gauge('warden_incidents_counted', 'How many incidents each figure counted, last 30 days: the numerator of a rate, the samples of a duration.', ['figure'], (r, set) => {
    const counts = { auto_fix: r.autoFix.count, escalation: r.escalation.count, false_positive: r.falsePositive.count, recurrence: r.recurrence.count,
      mttd: r.mttd.count, mttr_running: r.mttrRunning.count, mttr_resolved: r.mttrResolved.count };
    for (const [figure, n] of Object.entries(counts)) set({ figure }, n);
  });
  gauge('warden_model_spend_usd', "The model calls' estimated cost in the last 30 days, by model.", ['model'], (r, set) => {
    for (const m of r.modelSpend.byModel) set({ model: m.model }, m.costUsd);
  });
  gauge('warden_model_calls', 'Model calls made in the last 30 days, by model.', ['model'], (r, set) => {
    for (const m of r.modelSpend.byModel) set({ model: m.model }, m.calls);
  });
}
