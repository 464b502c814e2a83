// The Admin page's tokens: who holds one, of what role, since and until when, when last used. Never
// the secret (warden keeps only its hash) nor the hash: rows come from TokenStore's columns, which
// hold neither. Revoking goes through revokeToken, audited as tokens.revoke in its transaction.
import { html } from 'hono/html';
import { revokeToken } from '../auth.js';
import { expiresSoon, statusOf, type TokenRecord, type TokenStatus } from '../../store/tokens.js';
import type { ConsoleDeps, Viewer } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { csrfField, when, type Html } from './layout.js';

/** Rows shown of each kind; beyond them the page says how many more `warden tokens list` shows. */
const MAX_ACTIVE_ROWS = 500;
const MAX_ENDED_ROWS = 100;

/** A token id as a path names it: digits only, no sign, no leading zero, nothing a float or hex parse would take. */
export function tokenIdOf(text: string): number | undefined {
  return /^[1-9][0-9]{0,14}$/.test(text) ? Number(text) : undefined;
}

export type RevokeOutcome = { revoked: TokenRecord; own: boolean } | { problem: string; status: 404 | 409 };

export function revokeFromConsole(deps: ConsoleDeps, viewer: Viewer, id: number): RevokeOutcome {
  const [revoked] = revokeToken({ tokens: deps.tokens, audit: deps.rt.audit }, { id }, viewer.principal, 'console');
  if (revoked) return { revoked, own: revoked.id === viewer.tokenId };
  return deps.tokens.byId(id)
    ? { problem: `token ${id} was revoked already`, status: 409 }
    : { problem: `there is no token ${id}`, status: 404 };
}

/** The stylesheet's colours: green, red, amber. */
const STATUS_CLASS: Record<TokenStatus, string> = { active: 'ok', revoked: 'denied', expired: 'pending' };

function row(t: TokenRecord, viewer: Viewer, now: Date): Html {
  const status = statusOf(t, now);
  const own = t.id === viewer.tokenId;
  const revoke = viewer.role === 'admin' && status === 'active'
    ? html`<form class="revoke" method="post" action="${CONSOLE_PREFIX}/admin/tokens/${t.id}/revoke">${csrfField(viewer)}<button type="submit" class="danger">Revoke${own ? ' (signs you out)' : ''}</button></form>`
    : '';
  return html`<tr data-token-id="${t.id}" data-status="${status}"${own ? html` class="own"` : ''}>
<td>${t.id}</td><td>${t.name}${own ? html` <span class="muted">(this session)</span>` : ''}</td><td>${t.role}</td><td>${when(t.createdAt)}</td>
<td>${t.expiresAt ? when(t.expiresAt) : html`<span class="muted">never</span>`}${expiresSoon(t, now) ? html` <span class="expiring">soon</span>` : ''}</td>
<td>${when(t.lastUsedAt)}</td><td><span class="badge badge-${STATUS_CLASS[status]}">${status}</span></td><td>${revoke}</td></tr>`;
}

/** Active tokens first (newest first), then the most recent ended ones. */
export function tokensTable(deps: ConsoleDeps, viewer: Viewer, now = new Date()): Html {
  const all = deps.tokens.list().sort((a, b) => b.id - a.id);
  const active = all.filter((t) => statusOf(t, now) === 'active');
  const ended = all.filter((t) => statusOf(t, now) !== 'active');
  const shown = [...active.slice(0, MAX_ACTIVE_ROWS), ...ended.slice(0, MAX_ENDED_ROWS)];
  const more = all.length - shown.length;
  return html`<section class="card" id="tokens-card">
<h2>Tokens</h2>
<p class="muted">${active.length} active, ${ended.length} expired or revoked. Secrets are shown once, when made (<code>warden tokens create</code>), and never kept: warden stores only a hash, and this page shows neither.</p>
<table id="tokens"><thead><tr><th>Id</th><th>Principal</th><th>Role</th><th>Created</th><th>Expires</th><th>Last used</th><th>Status</th><th></th></tr></thead><tbody>
${shown.map((t) => row(t, viewer, now))}
</tbody></table>
${more > 0 ? html`<p class="muted">${more} more not shown (the oldest): <code>warden tokens list</code>.</p>` : ''}
</section>`;
}
