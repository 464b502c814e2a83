// The monitors on this runtime: probes through the adapters (HTTP, TCP, Docker), host readings
// through each host's metrics probe, states saved in the database. Built by the loop service.
import { hostname } from 'node:os';
import type { Adapters } from '../../adapters/index.js';
import { probeHttp, probeTcp } from '../../adapters/probes.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { NormalizedAlert } from '../../shared/alerts.js';
import type { Db } from '../../store/db.js';
import { MonitorStateStore } from '../../store/monitor-states.js';
import type { InventoryReader } from '../../store/readers.js';
import type { ProbeResult, Probes } from './probe-task.js';
import { MonitorScheduler } from './scheduler.js';

/** The container's state as a probe: up when running, not restarting, and healthy where it has a check. */
async function containerProbe(adapters: Pick<Adapters, 'docker'>, host: string, container: string): Promise<ProbeResult | undefined> {
  const started = performance.now();
  const latencyMs = (): number => Math.round((performance.now() - started) * 10) / 10;
  try {
    const s = await adapters.docker(host).containerState(container);
    if (s.running && !s.restarting && s.health === 'starting') return undefined;
    const up = s.running && !s.restarting && (s.health === null || s.health === 'healthy');
    const detail = `${container} is ${s.restarting ? 'restarting' : s.state}${s.health ? `, health ${s.health}` : ''}${s.running ? '' : `, exit code ${s.exitCode}`}`;
    return { up, latencyMs: latencyMs(), status: null, detail };
  } catch (err) {
    return { up: false, latencyMs: latencyMs(), status: null, detail: `${container} on ${host}: ${errorMessage(err).slice(0, 200)}` };
  }
}

export function monitorProbes(adapters: Pick<Adapters, 'docker'>): Probes {
  return {
    http: (check, opts) => probeHttp(check, opts),
    tcp: (hostPort, opts) => probeTcp(hostPort, opts),
    container: (host, container) => containerProbe(adapters, host, container),
  };
}

export function createMonitors(
  rt: { adapters: Adapters; inventory: InventoryReader; db: Db },
  onAlerts: (alerts: NormalizedAlert[]) => void,
  log: Logger,
): MonitorScheduler {
  return new MonitorScheduler({
    inventory: rt.inventory,
    probes: monitorProbes(rt.adapters),
    hostReader: (host) => rt.adapters.metrics(host),
    onAlerts,
    states: new MonitorStateStore(rt.db),
    log: log.child({ part: 'monitors' }),
    owner: `${hostname()}:${process.pid}`,
  });
}
