// One probe of one service's health check, and what it means: the probe state (down after
// `retries` failures in a row), and for https the certificate's expiry. Returns the alerts to
// send; the scheduler decides when to probe.
import type { HttpCheck, ProbeResult } from '../../adapters/probes.js';

export type { ProbeResult };
import type { NormalizedAlert } from '../../shared/alerts.js';
import type { MonitorStateRow } from '../../store/monitor-states.js';
import { describeCheck, plainLine, tlsId, toAlert, type ProbeMonitor } from './monitor-plan.js';
import { observeProbe, initialProbe, type ProbeMemory } from './probe-state.js';

/** How a probe reaches its target; adapters in serve, stand-ins in tests. */
export interface Probes {
  /** `from`: the inventory host the connection starts from; absent, warden's own machine. */
  http(check: HttpCheck, opts: { timeoutMs: number; ignoreTlsErrors?: boolean; signal?: AbortSignal; from?: string }): Promise<ProbeResult>;
  tcp(hostPort: string, opts: { timeoutMs: number; signal?: AbortSignal; from?: string }): Promise<ProbeResult>;
  /** The container's own state: up when running (and healthy, where it has a health check); undefined while its health check is starting. */
  container(host: string, container: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<ProbeResult | undefined>;
}

interface TlsMemory {
  firing: boolean;
  since: number;
  daysLeft: number | null;
  detail: string;
}

/**
 * While down, the firing alert is sent again this often, as Alertmanager repeats its alerts: a
 * silence that ends or a cooldown that passes during a long outage then opens an incident, where a
 * single firing would have left the outage unseen.
 */
export const REPEAT_MS = 5 * 60_000;

export class ProbeTask {
  memory: ProbeMemory;
  private sentAt = 0;
  private tls: TlsMemory | undefined;
  private last: { at: number; result: ProbeResult } | undefined;
  /** When the current down began: a resolve carries it, as Alertmanager's do. */
  private downSince: number | undefined;

  constructor(readonly def: ProbeMonitor, now: number, savedRows: readonly MonitorStateRow[] = []) {
    this.memory = initialProbe(now);
    const saved = savedRows.find((r) => r.id === def.id);
    const tls = savedRows.find((r) => r.id === tlsId(def.service));
    // A certificate warning already sent is not sent again by every restart.
    if (tls) this.tls = { firing: tls.state === 'firing', since: Date.parse(tls.since), daysLeft: tls.value, detail: tls.detail };
    if (saved?.state === 'down') {
      // A restart mid-outage: still down until a probe succeeds, so the recovery is reported.
      this.downSince = Date.parse(saved.since);
      // It was judged down by a process that had seen it pass, or not: the row does not say, and
      // treating it as never passed would stop the runbooks mid-incident.
      this.memory = { status: 'down', failures: def.settings.retries, since: this.downSince, everUp: true };
    }
  }

  async probe(probes: Probes, signal: AbortSignal): Promise<ProbeResult | undefined> {
    const { check, settings } = this.def;
    const opts = { timeoutMs: settings.timeout, signal, ...(settings.from === 'host' ? { from: this.def.host } : {}) };
    if ('http' in check) return probes.http(check.http, { ...opts, ignoreTlsErrors: settings.ignoreTlsErrors });
    if ('tcp' in check) return probes.tcp(check.tcp, opts);
    return probes.container(this.def.host, this.def.container ?? '', { timeoutMs: settings.timeout, signal });
  }

  /** Folds one result in; returns the alerts it raises (at most a probe's and a certificate's). */
  observe(result: ProbeResult | undefined, now: number): NormalizedAlert[] {
    if (!result) return [];
    this.last = { at: now, result };
    const step = observeProbe(this.memory, result.up, now, { retries: this.def.settings.retries, cooldownMs: this.def.settings.cooldown });
    this.memory = step.memory;
    const alerts: NormalizedAlert[] = [];
    if (step.event === 'down') this.downSince = now;
    const repeat = !step.event && this.memory.status === 'down' && now - this.sentAt >= REPEAT_MS;
    if (step.event || repeat) {
      alerts.push(this.probeAlert(step.event !== 'up', result, now));
      this.sentAt = now;
    }
    if (step.event === 'up') this.downSince = undefined;
    const tls = this.tlsAlert(result, now);
    if (tls) alerts.push(tls);
    return alerts;
  }

  private hints(): NormalizedAlert['hints'] {
    return { host: this.def.host, service: this.def.service, ...(this.def.container ? { container: this.def.container } : {}) };
  }

  private probeAlert(down: boolean, r: ProbeResult, now: number): NormalizedAlert {
    const { def } = this;
    const what = describeCheck(def);
    const summary = down
      ? `${def.service} is down: ${what} failed ${def.settings.retries} time${def.settings.retries > 1 ? 's' : ''} in a row (${r.detail})`
      : `${def.service} is up again: ${what} answered in ${Math.round(r.latencyMs)} ms`;
    return toAlert({
      id: def.id, firing: down, severity: def.tier === 'critical' ? 'critical' : 'warning', summary, detail: r.detail,
      hints: this.hints(), labels: { check: 'http' in def.check ? 'http' : 'tcp' in def.check ? 'tcp' : 'container' }, at: this.downSince ?? now,
    });
  }

  private tlsAlert(r: ProbeResult, now: number): NormalizedAlert | undefined {
    const cert = r.certificate;
    if (!cert) return undefined;
    const limit = this.def.settings.tlsExpiryDays;
    const firing = cert.daysLeft < limit;
    const detail = `certificate ${cert.subject} (issuer ${cert.issuer}) expires ${cert.validTo}: ${cert.daysLeft} days left, warning below ${limit}`;
    const was = this.tls;
    this.tls = { firing, since: was && was.firing === firing ? was.since : now, daysLeft: cert.daysLeft, detail };
    if (was?.firing === firing || (!was && !firing)) return undefined;
    return toAlert({
      id: tlsId(this.def.service), firing, severity: cert.daysLeft <= 0 ? 'critical' : 'warning',
      summary: firing ? `the TLS certificate of ${this.def.service} expires in ${cert.daysLeft} days (${cert.validTo}): renew it` : `the TLS certificate of ${this.def.service} was renewed (${cert.validTo})`,
      // The host alone: with the service's container as its target, a certificate warning would
      // share the service's incidents (and their cooldown) with its outages.
      detail, hints: { host: this.def.host }, labels: { check: 'tls', service: this.def.service }, at: this.tls.since,
    });
  }

  /** The last probe's verdict in one line, or what it will check. */
  detail(): string {
    return plainLine(this.last?.result.detail ?? `not probed yet: ${describeCheck(this.def)}`);
  }

  rows(by: string): MonitorStateRow[] {
    const iso = (ms: number): string => new Date(ms).toISOString();
    const r = this.last?.result;
    const rows: MonitorStateRow[] = [{
      id: this.def.id, kind: 'probe', subject: this.def.service, state: this.memory.status, since: iso(this.memory.since),
      checkedAt: this.last ? iso(this.last.at) : null, value: r?.up ? Math.round(r.latencyMs * 10) / 10 : null,
      detail: this.detail(), updatedBy: by,
    }];
    if (this.tls) {
      rows.push({
        id: tlsId(this.def.service), kind: 'tls', subject: this.def.service, state: this.tls.firing ? 'firing' : 'ok', since: iso(this.tls.since),
        checkedAt: this.last ? iso(this.last.at) : null, value: this.tls.daysLeft, detail: plainLine(this.tls.detail), updatedBy: by,
      });
    }
    return rows;
  }
}
