// nginx_set_upstream: points a service's proxy at another backend, as one change transaction. It
// edits only the address bytes of one `upstream` server or `proxy_pass`, only in a file the
// inventory declares for that service, only to an address the inventory allows; then nginx -t,
// reload, and the service's health check held for verifySeconds, or everything is put back.
import { z } from 'zod';
import { ToolFailure } from '../errors.js';
import { EntryName as Name, HostPort } from '../store/inventory-schema.js';
import type { InventoryReader, ServiceRecord } from '../store/readers.js';
import { CHANGE_OVERHEAD_MS, ChangeFields, Rejected, VerifySeconds, runChange } from './change-transaction.js';
import { bundleBytes, declaredFiles, nginxFilesKind, nginxPlan, probeOf, readFiles, unchangedSince, writeFiles } from './nginx-change.js';
import { chooseEndpoint, replaceEndpoint, scanProxyConfig } from './nginx-proxy-edit.js';
import { nginxPlace, nginxTarget, testAndReload } from './nginx-reload.js';
import { defineTool } from './spec.js';


const Input = z.strictObject({
  service: Name.describe('Inventory service whose proxy to change.'),
  server: HostPort.describe('New backend host:port, exactly as in its nginx.backends.'),
  upstream: Name.optional().describe('Upstream block, when its files hold several.'),
  verifySeconds: VerifySeconds,
});
type Input = z.infer<typeof Input>;

function serviceOf(name: string, inventory: InventoryReader): ServiceRecord {
  const s = inventory.service(name);
  if (!s) throw new ToolFailure('invalid_input', `no service "${name}" in the inventory; query_inventory lists the services`);
  if (!s.nginx) throw new ToolFailure('invalid_input', `service "${name}" has no nginx entry in the inventory, so warden does not know which nginx fronts it`);
  return s;
}

/**
 * The backend must be one the inventory lists for this service, as written there: traffic pointed
 * anywhere else (a loopback port of warden or Docker, a name DNS resolves, an address a confused or
 * hostile model picked) would hand the site's requests to a stranger.
 */
export function backendProblem(server: string, s: ServiceRecord): string | undefined {
  const allowed = s.nginx?.backends;
  if (!allowed?.length) return `service "${s.name}" lists no nginx.backends in the inventory: declare the host:port values its proxy may point at`;
  return allowed.includes(server) ? undefined : `${server} is not one of service "${s.name}"'s nginx.backends (${allowed.join(', ')})`;
}

/**
 * Where several services share one nginx config, "the only upstream in the files" may well be
 * another service's: then the service must name its own.
 */
function sharedWithoutUpstream(s: ServiceRecord, inventory: InventoryReader): string | undefined {
  if (s.nginx?.upstream) return undefined;
  const others = inventory.services().filter((o) => o.name !== s.name && o.host === s.host && o.nginx?.confPath === s.nginx?.confPath && o.nginx?.container === s.nginx?.container);
  return others.length ? `services ${[s.name, ...others.map((o) => o.name)].join(', ')} share one nginx config, so warden cannot tell which upstream is ${s.name}'s: set nginx.upstream for it in the inventory` : undefined;
}

/** Every check the call passes before it reads a file: the console's preview runs them too, so it never diffs a call the tool refuses. */
export function resolveCall(i: Input, inventory: InventoryReader): { s: ServiceRecord; upstream: string | undefined } {
  const s = serviceOf(i.service, inventory);
  const problem = backendProblem(i.server, s);
  if (problem) throw new ToolFailure('invalid_input', `server: ${problem}`);
  const shared = sharedWithoutUpstream(s, inventory);
  if (shared) throw new ToolFailure('invalid_input', shared);
  const declared = s.nginx?.upstream;
  if (declared && i.upstream && i.upstream !== declared) {
    throw new ToolFailure('invalid_input', `upstream: service "${s.name}" proxies to upstream "${declared}" (its inventory entry says so), not "${i.upstream}"`);
  }
  declaredFiles(s);
  probeOf(s);
  return { s, upstream: i.upstream ?? declared };
}

export const nginxSetUpstream = defineTool({
  name: 'nginx_set_upstream',
  title: 'Point a service\'s nginx proxy at another backend',
  description:
    'Points a service\'s nginx proxy at another of its inventory nginx.backends, as a change: edit, nginx -t, reload; rolled back unless the health check passes for verifySeconds. ' +
    'Use it when nginx_error_log shows a dead or wrong backend.',
  family: 'nginx',
  risk: 'medium',
  effect: 'config',
  finishesAfterAbort: true,
  input: Input,
  output: z.object({ ...ChangeFields, file: z.string(), from: z.string(), to: z.string() }),
  target: (i, inventory) => nginxTarget(nginxPlace({ service: i.service }, inventory)),
  resolve: (i, inventory) => {
    const { s, upstream } = resolveCall(i, inventory);
    return { service: s.name, bindsTo: { place: nginxPlace({ service: i.service }, inventory), files: declaredFiles(s), upstream }, deadlineMs: i.verifySeconds * 2_000 + CHANGE_OVERHEAD_MS };
  },
  plan: (i) => `point service ${i.service}'s nginx proxy at ${i.server}: save its files, edit the address, nginx -t, reload, check its health for ${i.verifySeconds} s, roll back on failure`,
  async run(input, ctx) {
    const { s, upstream } = resolveCall(input, ctx.inventory);
    const place = nginxPlace({ service: input.service }, ctx.inventory);
    const before = await readFiles(ctx, place, declaredFiles(s));
    // latin1 maps each byte to one character and back: bytes that are not UTF-8 (a Latin-1 comment,
    // binary in a return string) come back exactly as they were.
    const parsed = before.map((f) => ({ path: f.path, text: Buffer.from(f.content, 'base64').toString('latin1') }));
    let chosen;
    try {
      chosen = chooseEndpoint(parsed.map((f) => ({ path: f.path, ...scanProxyConfig(f.text) })), upstream);
    } catch (err) {
      if (err instanceof ToolFailure) throw new ToolFailure(err.kind, `service "${s.name}": ${err.message}`);
      throw err;
    }
    const from = chosen.endpoint.address;
    if (from === input.server) throw new ToolFailure('invalid_input', `server: service "${s.name}" already proxies to ${from} (${chosen.path} line ${chosen.endpoint.line}); nothing to change`);
    const after = before.map((f, i) => (f.path === chosen.path
      ? { ...f, content: Buffer.from(replaceEndpoint(parsed[i]!.text, chosen.endpoint, input.server), 'latin1').toString('base64') }
      : f));
    const summary = `${s.name}: nginx proxy ${from} -> ${input.server} (${chosen.path} line ${chosen.endpoint.line})`;
    const done = await runChange(ctx, {
      kind: nginxFilesKind, target: nginxTarget(place), service: s.name, summary,
      plan: await nginxPlan(place, probeOf(s), input.verifySeconds), before: bundleBytes(before),
      async apply() {
        await unchangedSince(ctx, place, before);
        const edited = after.filter((f) => f.path === chosen.path);
        const original = before.filter((f) => f.path === chosen.path);
        await writeFiles(ctx, place, edited);
        // testAndReload runs nginx -t first and reloads only when it passes.
        const reloaded = await testAndReload(place, ctx).catch(async (err: unknown) => {
          if (!(err instanceof ToolFailure && err.kind === 'target_failed' && /nginx -t failed/.test(err.message))) throw err;
          await writeFiles(ctx, place, original);
          throw new Rejected(err.message, new ToolFailure('target_failed', `nginx -t refused the changed config, so it was put back and nginx was not reloaded: ${err.message}`));
        });
        return { after: bundleBytes(after), validation: `${reloaded.testOutput}\nreloaded: ${reloaded.workersReplaced ? 'workers replaced' : reloaded.note ?? ''}` };
      },
    });
    return { ...done, file: chosen.path, from, to: input.server };
  },
  summarize: (o) => `${o.changeId} ${o.status}: ${o.summary}\ncheck: ${o.verification.split('\n')[0]!.slice(0, 300)}`,
});
