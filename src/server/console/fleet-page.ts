// The Fleet page: the inventory's hosts and services with their live state: what each host's Docker
// says now (fleet-live.ts, bounded), the breakers that are open, each service's monitor as recorded,
// and the incidents still active. Reads only: nothing here writes to the database, Docker or a host.
import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { MountContext } from './console-env.js';
import type { ConsoleDeps, ConsoleEnv } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { page } from './layout.js';
import { MonitorStateStore } from '../../store/monitor-states.js';
import { FleetLive, READ_WAIT_MS } from './fleet-live.js';
import { fleet, type FleetView, type OpenBreaker } from './fleet-view.js';

/** Active incidents read for the page: far more than a fleet has at once. */
const MAX_INCIDENTS = 500;

/** This process's breakers as they are now, and those other processes recorded (status, doctor, a second warden). */
function openBreakers(deps: ConsoleDeps): OpenBreaker[] {
  const byName = new Map<string, OpenBreaker>();
  for (const r of deps.rt.healthStates.breakers()) {
    if (r.state !== 'closed') byName.set(r.name, { name: r.name, state: r.state, since: r.since, retryAt: r.retryAt, lastError: r.lastError });
  }
  for (const b of deps.rt.breakers.views()) {
    if (b.state === 'closed') byName.delete(b.name);
    else byName.set(b.name, { name: b.name, state: b.state, since: b.since, retryAt: b.retryAt ?? null, lastError: b.lastError ?? null });
  }
  return [...byName.values()];
}

async function view(deps: ConsoleDeps, live: FleetLive, monitors: MonitorStateStore): Promise<FleetView> {
  const records = deps.rt.inventory.hosts();
  const services = deps.rt.inventory.services();
  // Hosts warden reaches without declaring them (`local`), and those services name, are shown too.
  const names = [...new Set([...records.map((h) => h.name), ...deps.rt.adapters.hosts(), ...services.map((s) => s.host)])];
  const hosts = names.map((name) => ({ name, record: records.find((h) => h.name === name) }));
  return {
    hosts,
    services,
    live: await live.hosts(names),
    breakers: openBreakers(deps),
    monitors: monitors.list(),
    incidents: deps.incidents.list({ status: 'active', limit: MAX_INCIDENTS }),
  };
}

export function mountFleetPage(app: Hono<ConsoleEnv>, deps: ConsoleDeps, _ctx: MountContext): void {
  const live = new FleetLive(deps.rt.adapters);
  const monitors = new MonitorStateStore(deps.rt.db);

  app.get(`${CONSOLE_PREFIX}/fleet`, async (c) => {
    const body = html`<div hx-ext="sse" sse-connect="${CONSOLE_PREFIX}/events">${fleet(await view(deps, live, monitors))}</div>
<p class="muted">Container states are read from each host's Docker when the page asks, at most every 5 s, waiting ${READ_WAIT_MS / 1000} s at most per host; monitors and breakers as warden last recorded them.</p>`;
    return page(c, deps, { title: 'Fleet', section: 'fleet', body });
  });
  app.get(`${CONSOLE_PREFIX}/fleet/live`, async (c) => c.html(fleet(await view(deps, live, monitors))));
}
