// The monitors on this runtime: probes through the adapters (HTTP, TCP, Docker), host readings
// through each host's metrics probe, states saved in the database. Built by the loop service.
import { hostname } from 'node:os';
import type { Adapters } from '../../adapters/index.js';
import { probeHttp, probeTcp } from '../../adapters/probes.js';
import type { Dial } from '../../adapters/ssh.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { NormalizedAlert } from '../../shared/alerts.js';
import type { Db } from '../../store/db.js';
import { MonitorStateStore } from '../../store/monitor-states.js';
import type { InventoryReader } from '../../store/readers.js';
import type { ProbeResult, Probes } from './probe-task.js';
import { MonitorScheduler } from './scheduler.js';

/** `work`, or a failed probe once `timeoutMs` passes or `signal` aborts: a hung dockerd is a failed probe, never a stuck one. */
function withDeadline(work: Promise<ProbeResult | undefined>, timeoutMs: number, signal: AbortSignal | undefined, what: string): Promise<ProbeResult | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const cut = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve({ up: false, latencyMs: timeoutMs, status: null, detail: `${what}: Docker did not answer within ${timeoutMs} ms` }), timeoutMs);
    onAbort = () => resolve({ up: false, latencyMs: 0, status: null, detail: `${what}: probe cancelled` });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, cut]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

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

/** Probes from warden's machine, or through a host's SSH connection for a monitor `from: host`. */
export function monitorProbes(adapters: Pick<Adapters, 'docker' | 'dial'>): Probes {
  /** The probe from `from`; a host that cannot be reached that way is a failed probe that says why, not a thrown error. */
  const via = async (from: string | undefined, probe: (dial: { dial?: Dial }) => Promise<ProbeResult>): Promise<ProbeResult> => {
    let dial: { dial?: Dial };
    try {
      dial = from === undefined ? {} : { dial: adapters.dial(from) };
    } catch (err) {
      return { up: false, latencyMs: 0, status: null, detail: `cannot probe from host ${from}: ${errorMessage(err)}` };
    }
    return probe(dial);
  };
  return {
    http: ({ url, status, keyword }, { from, ...opts }) => via(from, (d) => probeHttp({ url, status, keyword }, { ...opts, ...d })),
    tcp: (hostPort, { from, ...opts }) => via(from, (d) => probeTcp(hostPort, { ...opts, ...d })),
    container: (host, container, { timeoutMs, signal }) => withDeadline(containerProbe(adapters, host, container), timeoutMs, signal, `${container} on ${host}`),
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
