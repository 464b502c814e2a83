// The page shell every console page renders into: navigation, who is signed in, the kill switch and
// safe-mode banners, and the scripts (all served by warden: no CDN, nothing inline). Everything
// interpolated through `html` is escaped; `raw` is never given untrusted text.
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ConsoleDeps, ConsoleEnv, Viewer } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export const NAV = [
  ['incidents', 'Incidents'],
  ['approvals', 'Approvals'],
  ['audit', 'Audit'],
  ['report', 'Report'],
  ['fleet', 'Fleet'],
  ['admin', 'Admin'],
  ['health', 'Health'],
] as const;
export type Section = (typeof NAV)[number][0];

// htmx reads its settings from this meta tag: no eval (hx-on, js: values), no inline indicator
// style (the CSP would refuse it), and history snapshots off (pages hold live data).
const HTMX_CONFIG = JSON.stringify({ allowEval: false, allowScriptTags: false, includeIndicatorStyles: false, historyCacheSize: 0, selfRequestsOnly: true });

/** The hidden field every console form carries. */
export function csrfField(viewer: Viewer): Html {
  return html`<input type="hidden" name="_csrf" value="${viewer.csrf}">`;
}

function banners(deps: ConsoleDeps): Html {
  const ks = deps.rt.killSwitch.state();
  const fromFile = deps.rt.policy.current().killSwitch;
  const safe = deps.rt.safeMode.state();
  return html`${ks.on || fromFile ? html`<p class="banner danger" id="killswitch-banner">Kill switch ON${ks.on ? html` (by ${ks.by} at ${ks.at}${ks.reason ? html`: ${ks.reason}` : ''})` : ' (policy file)'}: only read tools run.</p>` : ''}
${safe.on ? html`<p class="banner warn" id="safemode-banner">Loop paused (safe mode) since ${safe.at}: ${safe.reason ?? ''}</p>` : ''}`;
}

export interface PageOptions {
  title: string;
  section?: Section;
  body: Html;
}

/** A whole page for a signed-in viewer. */
export function page(c: Context<ConsoleEnv>, deps: ConsoleDeps, opts: PageOptions): Response | Promise<Response> {
  const viewer = c.get('viewer');
  return c.html(html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content="${HTMX_CONFIG}">
<title>${opts.title} · warden</title>
<link rel="stylesheet" href="${CONSOLE_PREFIX}/assets/console.css">
<link rel="icon" href="${CONSOLE_PREFIX}/assets/favicon.svg" type="image/svg+xml">
<script src="${CONSOLE_PREFIX}/assets/htmx.min.js" defer></script>
<script src="${CONSOLE_PREFIX}/assets/sse.min.js" defer></script>
<script src="${CONSOLE_PREFIX}/assets/console.js" defer></script>
</head>
<body hx-headers="${JSON.stringify({ 'x-csrf-token': viewer.csrf })}">
<header>
<a class="brand" href="${CONSOLE_PREFIX}/incidents">warden</a>
<nav>${NAV.map(([key, label]) => html`<a href="${CONSOLE_PREFIX}/${key}"${key === opts.section ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>
<span id="whoami">${viewer.principal} <span class="role">${viewer.role}</span></span>
<form id="logout" method="post" action="${CONSOLE_PREFIX}/logout">${csrfField(viewer)}<button type="submit">Sign out</button></form>
</header>
${banners(deps)}
<main>
<h1>${opts.title}</h1>
${opts.body}
</main>
</body>
</html>`);
}

/** A page for someone not signed in (the sign-in form, its refusal). */
export function barePage(c: Context, title: string, body: Html, status: 200 | 401 | 403 | 429 = 200): Response | Promise<Response> {
  return c.html(html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · warden</title>
<link rel="stylesheet" href="${CONSOLE_PREFIX}/assets/console.css">
<link rel="icon" href="${CONSOLE_PREFIX}/assets/favicon.svg" type="image/svg+xml">
</head>
<body class="bare">
<main>
<h1>warden</h1>
${body}
</main>
</body>
</html>`, status);
}

/** An ISO time as a <time> element, shown in UTC (the audit's and the CLI's zone) whatever the browser's. */
export function when(iso: string | null | undefined): Html {
  return iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>` : html`<span class="muted">-</span>`;
}

/** A short status word with a class a stylesheet colours. */
export function badge(text: string): Html {
  return html`<span class="badge badge-${text.replace(/[^a-z_-]/gi, '')}">${text}</span>`;
}
