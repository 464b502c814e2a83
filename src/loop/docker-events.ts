// Docker's own events as alerts: a container that died, was OOM-killed or turned unhealthy, on
// every watched host, reconnecting with backoff when a stream ends. It only reports: correlation
// and the runner decide what happens, and this never touches a container.
//
// A stop someone asked for is not a failure: Docker logs a `kill` event for every stop, restart and
// kill request (warden's own stop_container and restart_container, or a person's `docker stop`),
// and none when a process exits by itself, crashes, or is OOM-killed by the kernel. So a `die` that
// follows a terminating `kill` since the container last started is skipped. A die that Docker's
// restart policy will answer is still reported; the runner decides not to race it.
import type { Adapters } from '../adapters/index.js';
import type { DockerEvent, DockerEventFilters } from '../adapters/docker-types.js';
import { ToolFailure, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { NormalizedAlert } from '../shared/alerts.js';

export const WATCHED: DockerEventFilters = { type: ['container'], event: ['die', 'oom', 'health_status', 'kill', 'start'] };

/** Signals that ask a process to end; a kill with another (HUP for a reload, USR1, WINCH) is not a stop. */
const NOT_STOPPING = new Set(['1', '10', '12', '17', '18', '19', '20', '28', 'SIGHUP', 'HUP', 'SIGUSR1', 'USR1', 'SIGUSR2', 'USR2', 'SIGWINCH', 'WINCH', 'SIGCONT', 'CONT']);
/** A stop request older than this does not explain a die (longer than any sane stop timeout). */
const STOP_REQUEST_TTL_MS = 10 * 60_000;

export interface WatchOptions {
  /** More than `dies` die events of one container within `windowMs` is a restart storm (default 5 in 5 minutes). */
  storm?: { dies: number; windowMs: number };
  /** Reconnect delay: doubling from initialMs up to maxMs (default 500 ms to 30 s). */
  backoff?: { initialMs: number; maxMs: number };
}

export interface DockerEventWatch {
  /** Resolves once every host's first connection attempt has opened its stream or failed. */
  ready(): Promise<void>;
  /** Stops every stream; resolves when the watchers have ended. Idempotent. */
  close(): Promise<void>;
}

/** Turns one host's events into alerts; remembers stop requests and recent deaths per container. */
export class DockerEventTranslator {
  private readonly stopRequested = new Map<string, number>();
  private readonly deaths = new Map<string, number[]>();

  constructor(readonly host: string, private readonly storm: { dies: number; windowMs: number } = { dies: 5, windowMs: 5 * 60_000 }) {}

  translate(ev: DockerEvent): NormalizedAlert | undefined {
    if (ev.type !== 'container' || ev.name === '') return undefined;
    const at = ev.timeNano / 1e6;
    if (ev.action === 'kill') {
      if (!NOT_STOPPING.has(ev.attributes.signal ?? '')) this.stopRequested.set(ev.name, at);
      return undefined;
    }
    if (ev.action === 'start') {
      this.stopRequested.delete(ev.name);
      return undefined;
    }
    if (ev.action === 'die') return this.die(ev, at);
    if (ev.action === 'oom') return this.alert(ev, 'oom', 'critical', `${ev.name} was killed for running out of memory (OOM)`, {});
    if (/^health_status:\s*unhealthy$/.test(ev.action)) {
      return this.alert(ev, 'health_status', 'warning', `${ev.name} is unhealthy: its health check fails`, {});
    }
    return undefined;
  }

  private die(ev: DockerEvent, at: number): NormalizedAlert | undefined {
    const requested = this.stopRequested.get(ev.name);
    this.stopRequested.delete(ev.name);
    if (requested !== undefined && at - requested <= STOP_REQUEST_TTL_MS) return undefined;
    const recent = (this.deaths.get(ev.name) ?? []).filter((t) => at - t <= this.storm.windowMs);
    recent.push(at);
    this.deaths.set(ev.name, recent);
    const code = ev.attributes.exitCode ?? '?';
    const storm = recent.length > this.storm.dies;
    if (!storm) return this.alert(ev, 'die', 'warning', `${ev.name} exited with code ${code}`, { exitCode: code });
    const summary = `${ev.name} exited with code ${code} (${recent.length} exits within ${Math.round(this.storm.windowMs / 1000)} s: restart storm)`;
    return this.alert(ev, 'die', 'critical', summary, { exitCode: code, storm: 'true', exits: String(recent.length) });
  }

  private alert(ev: DockerEvent, event: string, severity: NormalizedAlert['severity'], summary: string, extra: Record<string, string>): NormalizedAlert {
    return {
      source: 'docker',
      // One fingerprint per container, whatever the event: its die, oom and health alerts are one incident.
      fingerprint: `docker:${this.host}/${ev.name}`,
      status: 'firing',
      severity,
      summary,
      startsAt: new Date(ev.timeNano / 1e6).toISOString(),
      labels: { event, image: ev.attributes.image ?? '', ...extra },
      annotations: {},
      hints: { host: this.host, container: ev.name },
    };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export function watchDockerEvents(
  hosts: string[],
  adapters: Pick<Adapters, 'docker'>,
  onAlerts: (alerts: NormalizedAlert[]) => void,
  log: Logger,
  opts: WatchOptions = {},
): DockerEventWatch {
  const controller = new AbortController();
  const { signal } = controller;
  const backoff = opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
  const firstAttempts: Promise<void>[] = [];

  const deliver = (host: string, alert: NormalizedAlert): void => {
    try {
      onAlerts([alert]);
    } catch (err) {
      log.error({ host, err: errorMessage(err), fingerprint: alert.fingerprint }, 'docker event alert could not be recorded');
    }
  };

  async function watchHost(host: string, settled: () => void): Promise<void> {
    const translator = new DockerEventTranslator(host, opts.storm);
    let lastNano = 0;
    /** When the first stream opened: with no event seen yet, a reconnect asks from there, leaving no gap. */
    let firstOpenedAt: number | undefined;
    let delay = backoff.initialMs;
    while (!signal.aborted) {
      const openedAt = Date.now();
      try {
        const since = lastNano > 0 ? Math.floor(lastNano / 1e9) : firstOpenedAt;
        const stream = await adapters.docker(host).events(WATCHED, signal, since);
        firstOpenedAt ??= Math.floor(openedAt / 1000);
        settled();
        for await (const ev of stream) {
          // A reconnect asks from the last second seen, so the events of that second come again.
          if (ev.timeNano <= lastNano) continue;
          lastNano = ev.timeNano;
          delay = backoff.initialMs;
          const alert = translator.translate(ev);
          if (alert) deliver(host, alert);
        }
        if (signal.aborted) break;
        log.warn({ host, retryMs: delay }, 'docker event stream ended; reconnecting');
      } catch (err) {
        settled();
        if (signal.aborted) break;
        if (err instanceof ToolFailure && err.kind === 'invalid_input') {
          log.warn({ host, err: err.message }, 'docker events: not watching this host');
          return;
        }
        log.warn({ host, err: errorMessage(err), retryMs: delay }, 'docker event stream failed; reconnecting');
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, backoff.maxMs);
    }
  }

  const done = hosts.map((host) => {
    let settled!: () => void;
    firstAttempts.push(new Promise<void>((resolve) => { settled = resolve; }));
    return watchHost(host, settled).catch((err: unknown) => log.error({ host, err: errorMessage(err) }, 'docker event watcher failed'));
  });
  let closing: Promise<void> | undefined;
  return {
    ready: async () => { await Promise.all(firstAttempts); },
    close: () => (closing ??= (async () => {
      controller.abort();
      await Promise.all(done);
    })()),
  };
}
