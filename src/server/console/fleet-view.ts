// How the Fleet page shows the inventory's hosts and services beside what is known of them now:
// each host's Docker, its open breakers, each service's container, its monitor and its active
// incidents. Every name, label and state is interpolated through `html`, so it stays text.
import { html } from 'hono/html';
import type { ContainerSummary } from '../../adapters/docker-types.js';
import type { Incident } from '../../shared/incidents.js';
import type { MonitorStateRow } from '../../store/monitor-states.js';
import type { HostRecord, ServiceRecord } from '../../store/readers.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { badge, when, type Html } from './layout.js';
import type { HostLive } from './fleet-live.js';

/** A breaker not closed, from this process or as another warden process recorded it. */
export interface OpenBreaker {
  name: string;
  state: string;
  since: string;
  retryAt: string | null;
  lastError: string | null;
}

export interface FleetView {
  hosts: Array<{ name: string; record: HostRecord | undefined }>;
  services: ServiceRecord[];
  live: Map<string, HostLive>;
  breakers: OpenBreaker[];
  monitors: MonitorStateRow[];
  incidents: Incident[];
}

/** Characters of a health check or error shown; the inventory and `warden status` have the rest. */
const DETAIL_CHARS = 160;

function capText(text: string, max = DETAIL_CHARS): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max).join('')}…`;
}

/** A URL without what may be a secret in it: user, password, query, fragment. */
function bareUrl(text: string): string {
  try {
    const u = new URL(text);
    return u.protocol === 'unix:' || u.host === '' ? `${u.protocol}//${u.pathname}` : `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return text.replace(/\/\/[^/@]*@/, '//');
  }
}

function transport(h: HostRecord | undefined, name: string): Html {
  if (!h) return html`<span class="muted">${name === 'local' ? 'this machine (not in the inventory)' : 'not in the inventory'}</span>`;
  const parts: Html[] = [];
  if (h.docker) parts.push(html`Docker <code>${h.docker === 'ssh' ? 'over SSH' : bareUrl(h.docker)}</code>`);
  if (h.ssh) parts.push(html`SSH <code>${h.ssh.user}@${h.ssh.address ?? h.address ?? name}:${h.ssh.port}</code>`);
  return parts.length ? html`${parts.map((p, i) => html`${i ? html`<br>` : ''}${p}`)}` : html`<span class="muted">none</span>`;
}

function tags(labels: Record<string, string>): Html {
  const entries = Object.entries(labels);
  return html`${entries.map(([k, v]) => html`<span class="badge">${k}=${v}</span> `)}`;
}

function dockerSummary(live: HostLive | undefined): Html {
  if (!live) return html`<span class="muted">-</span>`;
  if (live.kind === 'none') return html`<span class="muted">${capText(live.reason)}</span>`;
  if (live.kind === 'unreachable') return html`<span class="badge badge-failed">unreachable</span> <span class="muted">${capText(live.reason)}</span>`;
  const running = live.containers.filter((c) => c.state === 'running').length;
  return html`<span class="badge badge-ok">ok</span> ${live.containers.length} containers, ${running} running <span class="muted">(${when(live.at)})</span>`;
}

function breakerList(list: OpenBreaker[]): Html {
  return html`${list.map((b) => html`<span class="badge badge-open" title="${capText(b.lastError ?? '')}">${b.name} ${b.state}</span>${b.retryAt ? html` <span class="muted">trial ${when(b.retryAt)}</span>` : ''} `)}`;
}

function incidentLinks(list: Incident[]): Html {
  return html`${list.map((i) => html`<a class="incident" href="${CONSOLE_PREFIX}/incidents/${encodeURIComponent(i.id)}">${badge(i.status)} ${capText(i.title, 80)}</a> `)}`;
}

function hostRow(v: FleetView, h: FleetView['hosts'][number]): Html {
  const breakers = v.breakers.filter((b) => b.name === `docker:${h.name}` || b.name === `ssh:${h.name}`);
  const incidents = v.incidents.filter((i) => i.host === h.name);
  return html`<tr data-host="${h.name}">
<td class="name">${h.name}</td>
<td class="address">${h.record?.address ?? ''}</td>
<td class="transport">${transport(h.record, h.name)}</td>
<td class="tags">${h.record ? tags(h.record.labels) : ''}</td>
<td class="docker">${dockerSummary(v.live.get(h.name))}</td>
<td class="breakers">${breakerList(breakers)}</td>
<td class="incidents">${incidents.length ? html`${incidents.length} active` : ''}</td>
</tr>`;
}

function healthCheck(check: unknown): string {
  if (check === null || check === undefined || typeof check !== 'object') return '';
  const c = check as { http?: string; tcp?: string; container?: boolean; status?: number; keyword?: string };
  if (c.http) return `http ${bareUrl(c.http)}${c.status ? ` = ${c.status}` : ''}${c.keyword ? ` containing "${capText(c.keyword, 40)}"` : ''}`;
  if (c.tcp) return `tcp ${c.tcp}`;
  if (c.container) return "Docker's health check";
  return capText(JSON.stringify(check));
}

function containerCell(s: ServiceRecord, live: HostLive | undefined): Html {
  if (!s.container) return html`<span class="muted">not a container</span>`;
  if (!live || live.kind !== 'ok') return html`<span class="badge">unknown</span> <span class="muted">host ${live?.kind === 'unreachable' ? 'unreachable' : 'without Docker'}</span>`;
  const name = s.container;
  const c: ContainerSummary | undefined = live.containers.find((x) => x.name === name);
  if (!c) return html`<span class="badge badge-failed">absent</span> <span class="muted">no container of that name</span>`;
  return html`${badge(c.state)}${c.health ? html` ${badge(c.health)}` : ''} <span class="muted">${c.status}${c.restartCount ? `, ${c.restartCount} restarts` : ''}</span>`;
}

function monitorCell(rows: MonitorStateRow[]): Html {
  return html`${rows.map((m) => html`<span title="${capText(m.detail)}">${m.kind} ${badge(m.state)}</span> <span class="muted">since ${when(m.since)}</span><br>`)}`;
}

function serviceRow(v: FleetView, s: ServiceRecord): Html {
  const incidents = v.incidents.filter((i) => i.service === s.name || (i.service === null && i.host === s.host && s.container !== null && i.container === s.container));
  return html`<tr data-service="${s.name}">
<td class="name">${s.name}</td>
<td class="host">${s.host}</td>
<td class="container">${s.container ?? ''}</td>
<td class="state">${containerCell(s, v.live.get(s.host))}</td>
<td class="health-check"><code>${healthCheck(s.healthCheck)}</code></td>
<td class="monitor">${monitorCell(v.monitors.filter((m) => m.subject === s.name && m.kind !== 'threshold'))}</td>
<td class="tier">${s.tier ?? ''}</td>
<td class="incidents">${incidentLinks(incidents)}</td>
</tr>`;
}

/**
 * Both tables, as the page shows them and the live fragment replaces them: refreshed every 15 s
 * (containers change without an audit entry) and, at most every 5 s, when the live stream says so.
 */
export function fleet(v: FleetView): Html {
  return html`<div id="fleet" hx-get="${CONSOLE_PREFIX}/fleet/live" hx-trigger="every 15s, sse:changed throttle:5s" hx-swap="outerHTML">
<h2>Hosts</h2>
<table id="fleet-hosts">
<thead><tr><th>Host</th><th>Address</th><th>Transport</th><th>Tags</th><th>Docker</th><th>Open breakers</th><th>Incidents</th></tr></thead>
<tbody>
${v.hosts.map((h) => hostRow(v, h))}
</tbody>
</table>
<h2>Services</h2>
<table id="fleet-services">
<thead><tr><th>Service</th><th>Host</th><th>Container</th><th>State</th><th>Health check</th><th>Monitor</th><th>Tier</th><th>Active incidents</th></tr></thead>
<tbody>
${v.services.map((s) => serviceRow(v, s))}
</tbody>
</table>
${v.services.length === 0 ? html`<p class="muted">No services in the inventory: <code>warden inventory load</code>.</p>` : ''}
</div>`;
}
