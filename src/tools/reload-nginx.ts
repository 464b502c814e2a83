// The reload_nginx tool. Where the service it names has an HTTP health check, a reload is a change
// transaction: success means the site answers after the reload (held for verifySeconds), and a
// failing answer puts back the last config that served well (the newest verified change's), reloads
// it and checks that too. Without a health check it is the plain tested reload of nginx-reload.ts.
import { z } from 'zod';
import { httpCheckOf } from '../adapters/http-probe.js';
import { ToolFailure } from '../errors.js';
import type { InventoryReader, ServiceRecord } from '../store/readers.js';
import { CHANGE_OVERHEAD_MS, MAX_VERIFY_S, Rejected, runChange } from './change-transaction.js';
import { MAX_OUTPUT_CHARS } from './nginx.js';
import { bundleBytes, bundleOf, declaredFiles, nginxFilesKind, nginxPlan, probeOf, readFiles } from './nginx-change.js';
import { NginxPlaceInput, ReloadNginxOutput, nginxPlace, nginxTarget, reloadPlan, testAndReload, type NginxPlace } from './nginx-reload.js';
import { defineTool, type ToolContext } from './spec.js';

const DEFAULT_RELOAD_VERIFY_S = 5;

const Input = NginxPlaceInput.extend({
  verifySeconds: z.number().int().min(1).max(MAX_VERIFY_S).optional()
    .describe(`Seconds a service's HTTP check must pass after the reload (default ${DEFAULT_RELOAD_VERIFY_S}).`),
});

const Output = ReloadNginxOutput.extend({
  changeId: z.string().nullable(),
  check: z.string().nullable(),
});
type Output = z.infer<typeof Output>;

/**
 * The one service whose nginx entry names this very place (host, container, config, prefix): a
 * reload named by place is checked like one named by that service, so the spelling cannot skip
 * the check. Several services on one nginx: none (call it by service to have it checked).
 */
function soleServiceAt(p: NginxPlace, inventory: InventoryReader): ServiceRecord | undefined {
  const at = inventory.services().filter((s) => s.host === p.host && s.nginx && (s.nginx.container ?? undefined) === p.container
    && s.nginx.confPath === p.paths.confPath && (s.nginx.prefix ?? undefined) === p.paths.prefix);
  return at.length === 1 ? at[0] : undefined;
}

const hasHttpCheck = (s: ServiceRecord | undefined): s is ServiceRecord => httpCheckOf(s?.healthCheck) !== null;

/**
 * The files of this service's last change that served well, when they are exactly the files it
 * declares now: never another service's config, never a set the inventory has since changed.
 */
function lastGoodFiles(ctx: ToolContext, target: string, service: string, declared: readonly string[]): Buffer | undefined {
  const good = ctx.changes.lastVerified(target, [nginxFilesKind.kind], service);
  if (!good?.afterRef) return undefined;
  const bytes = ctx.changes.load(good.afterRef);
  const paths = bundleOf(bytes).map((f) => f.path);
  return paths.length === declared.length && paths.every((p) => declared.includes(p)) ? bytes : undefined;
}

async function checkedReload(p: NginxPlace, s: ServiceRecord, verifySeconds: number, ctx: ToolContext): Promise<Output> {
  const target = nginxTarget(p);
  const declared = declaredFiles(s);
  const now = bundleBytes(await readFiles(ctx, p, declared));
  const lastGood = lastGoodFiles(ctx, target, s.name, declared);
  let reloaded: z.infer<typeof ReloadNginxOutput> | undefined;
  const done = await runChange(ctx, {
    kind: nginxFilesKind, target, service: s.name,
    summary: `${s.name}: reload nginx${lastGood ? '' : ' (no earlier config known to serve well: a failed check can only reload the same files)'}`,
    plan: await nginxPlan(p, probeOf(s), verifySeconds), before: lastGood ?? now,
    async apply() {
      reloaded = await testAndReload(p, ctx).catch((err: unknown) => {
        // A failed nginx -t reloads nothing: the running config is untouched.
        if (err instanceof ToolFailure && err.kind === 'target_failed' && /nginx -t failed/.test(err.message)) throw new Rejected(err.message, err);
        throw err;
      });
      return { after: now, validation: `${reloaded.testOutput}\n${reloaded.workersReplaced ? 'workers replaced' : reloaded.note ?? ''}` };
    },
  });
  return { ...reloaded!, changeId: done.changeId, check: done.verification };
}

export const reloadNginx = defineTool({
  name: 'reload_nginx',
  title: 'Test and reload nginx',
  description:
    'Runs nginx -t, then a graceful reload (none if the test fails); waits until only new workers serve. A service with an HTTP check must pass it for verifySeconds, ' +
    `else the last good config is restored. Name a service, or host (with confPath/prefix or container). Output cut at ${MAX_OUTPUT_CHARS} characters.`,
  family: 'nginx',
  risk: 'low',
  effect: 'reload',
  finishesAfterAbort: true,
  input: Input,
  output: Output,
  // One form however it is named: by service or by host/container, the nginx it reaches.
  target: (i, inventory) => nginxTarget(nginxPlace(i, inventory)),
  // An approval binds where the reload happens (a reloaded inventory cannot move it), and a call by
  // service is decided on that service's own attributes, not those of another on the same nginx.
  resolve: (i, inventory) => {
    const place = nginxPlace(i, inventory);
    const checked = hasHttpCheck(i.service !== undefined ? inventory.service(i.service) : soleServiceAt(place, inventory));
    return {
      bindsTo: place, ...(i.service !== undefined ? { service: i.service } : {}),
      ...(checked ? { deadlineMs: (i.verifySeconds ?? DEFAULT_RELOAD_VERIFY_S) * 2_000 + CHANGE_OVERHEAD_MS } : {}),
    };
  },
  plan: reloadPlan,
  async run(input, ctx): Promise<Output> {
    const place = nginxPlace(input, ctx.inventory);
    const s = place.service !== undefined ? ctx.inventory.service(place.service) : soleServiceAt(place, ctx.inventory);
    if (hasHttpCheck(s)) return checkedReload({ ...place, service: s.name }, s, input.verifySeconds ?? DEFAULT_RELOAD_VERIFY_S, ctx);
    return { ...(await testAndReload(place, ctx)), changeId: null, check: null };
  },
  summarize: (o) =>
    `${o.service ? `${o.service}: ` : ''}nginx reloaded in ${o.container ? `container ${o.container} on host ${o.host}` : `host ${o.host}`}; master ${o.masterPid} alive; ` +
    (o.workersReplaced ? `${o.workersAfter.length} new workers replaced ${o.workersBefore.length}: only the new configuration answers` : `workers NOT replaced: ${(o.note ?? '').slice(0, 300)}`) +
    (o.check ? `\nchecked (${o.changeId}): ${o.check.split('\n')[0]!.slice(0, 300)}` : ''),
});
