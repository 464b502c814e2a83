// The Audit page: a bounded search of the live audit table (AuditLog.search: exact values or a
// prefix, newest first, pages of at most 50 going back by seq) and the chain's state, its anchor
// checkpoint and an on-demand verification (audit-verify.ts). Reads only: verifying writes nothing.
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { AuditPage } from '../../store/audit.js';
import type { MountContext } from './console-env.js';
import { CONSOLE_ROLES, type ConsoleDeps, type ConsoleEnv } from './console-env.js';
import { CONSOLE_PREFIX } from './console-security.js';
import { page } from './layout.js';
import { parseFilters, type ParsedFilters } from './audit-query.js';
import { ChainVerifier } from './audit-verify.js';
import { chain, filterForm, results, type ChainView } from './audit-view.js';

/** Entries on one page. */
export const PAGE_ENTRIES = 50;
/** How long "Verify now" waits for a short chain's answer before going back to the page, which then polls. */
const VERIFY_WAIT_MS = 3_000;

const AUDIT = `${CONSOLE_PREFIX}/audit`;

function chainView(deps: ConsoleDeps, verifier: ChainVerifier): ChainView {
  const audit = deps.rt.audit;
  let checkpoint: ChainView['checkpoint'];
  try {
    checkpoint = audit.readCheckpoint();
  } catch {
    checkpoint = 'unreadable';
  }
  const newest = audit.search({}, 1).entries[0];
  const at = checkpoint && checkpoint !== 'unreadable' ? checkpoint.seq : undefined;
  const named = at === undefined ? undefined : audit.search({ before: at + 1 }, 1).entries.find((e) => e.seq === at);
  return { newest, checkpoint, named, verify: verifier.state(), waitMs: verifier.waitMs() };
}

function search(c: Context<ConsoleEnv>, deps: ConsoleDeps): { parsed: ParsedFilters; found: AuditPage } {
  const parsed = parseFilters(c.req.queries());
  return { parsed, found: deps.rt.audit.search(parsed.filter, PAGE_ENTRIES) };
}

export function mountAuditPage(app: Hono<ConsoleEnv>, deps: ConsoleDeps, ctx: MountContext): void {
  const verifier = new ChainVerifier(deps.rt.audit, deps.rt.config.dataDir);
  ctx.onClose(() => verifier.close());

  app.get(AUDIT, (c) => {
    const { parsed, found } = search(c, deps);
    // Only the newest page follows new entries: an older page stays where its reader put it.
    const live = parsed.raw.before === undefined;
    const list = results(found, parsed.raw, live);
    const body = html`${chain(chainView(deps, verifier), c.get('viewer'))}
${filterForm(parsed.raw, parsed.problems)}
${live ? html`<div hx-ext="sse" sse-connect="${CONSOLE_PREFIX}/events">${list}</div>` : list}`;
    // A filter that could not be used is named on the page, which searches with the others: still
    // a 400, so nothing reads the page as the search that was asked for.
    if (parsed.problems.length > 0) c.status(400);
    return page(c, deps, { title: 'Audit', section: 'audit', body });
  });

  app.get(`${AUDIT}/results`, (c) => {
    const { parsed, found } = search(c, deps);
    return c.html(results(found, parsed.raw, parsed.raw.before === undefined));
  });

  app.get(`${AUDIT}/chain`, (c) => c.html(chain(chainView(deps, verifier), c.get('viewer'))));

  // Verifying changes nothing, so a readonly viewer may ask too; it is still a POST with the CSRF
  // token, so no other site can make a browser spend warden's CPU on it.
  app.post(`${AUDIT}/verify`, ctx.change(CONSOLE_ROLES), async (c) => {
    const done = verifier.start(c.get('viewer').principal);
    if (done) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise<void>((resolve) => { timer = setTimeout(resolve, VERIFY_WAIT_MS); })]);
      clearTimeout(timer);
    }
    return c.redirect(`${AUDIT}#audit-chain`, 303);
  });
}
