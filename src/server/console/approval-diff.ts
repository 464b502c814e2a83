// What a held configuration change would change, for the human deciding it: the target's current
// state, read without side effects under a short deadline, against what the tool would write, as a
// unified diff. Never shows more than the tool touches: env values and nginx lines other than the
// edited directive stay out (a config can hold credentials). A tool it cannot preview says so.
import { createTwoFilesPatch } from 'diff';
import type { ContainerResources } from '../../adapters/docker-types.js';
import { ToolFailure } from '../../errors.js';
import { bareName } from '../../shared/containers.js';
import type { Approval } from '../../store/approvals.js';
import { CATALOG } from '../../tools/catalog.js';
import { boundsProblem, describeResources, nextResources } from '../../tools/container-resources.js';
import { declaredFiles } from '../../tools/nginx-change.js';
import { chooseEndpoint, scanProxyConfig } from '../../tools/nginx-proxy-edit.js';
import { nginxPlace } from '../../tools/nginx-reload.js';
import { resolveCall as resolveUpstreamCall } from '../../tools/nginx-set-upstream.js';
import type { ServiceRecord } from '../../store/readers.js';
import type { Runtime } from '../runtime.js';

/** A diff to show, or why there is none; `undefined` from configPreview: not a configuration change. */
export type ConfigPreview =
  | { kind: 'diff'; patch: string; note?: string }
  | { kind: 'unavailable'; why: string };

/** Reading the current state must not hold the page: past this, the page says so and the reads are aborted. */
export const PREVIEW_TIMEOUT_MS = 3_000;
/** nginx config files are read whole; past this the preview gives up (the tool's own cap is larger). */
const MAX_PREVIEW_FILE_BYTES = 1024 * 1024;

type Args = Record<string, unknown>;
type Previewer = (rt: Runtime, args: Args, signal: AbortSignal) => Promise<ConfigPreview>;

const PREVIEWERS: Record<string, Previewer> = {
  update_container_resources: resourcesPreview,
  update_container_config: containerConfigPreview,
  nginx_set_upstream: upstreamPreview,
  rollback_change: rollbackPreview,
};

/** Whether a call of this tool changes configuration: its effect says so, or it undoes a change. */
export function isConfigChange(tool: string): boolean {
  const spec = CATALOG.find((s) => s.name === tool);
  return spec?.effect === 'config' || tool === 'rollback_change';
}

export async function configPreview(rt: Runtime, a: Approval, timeoutMs = PREVIEW_TIMEOUT_MS): Promise<ConfigPreview | undefined> {
  if (!isConfigChange(a.tool)) return undefined;
  const preview = PREVIEWERS[a.tool];
  if (!preview) return { kind: 'unavailable', why: `warden cannot preview what ${a.tool} would change; read its arguments and the plan it states` };
  if (a.status !== 'pending') return { kind: 'unavailable', why: `shown only while the request is pending; it is ${a.status}, so the target's current state no longer says what it would change` };
  const spec = CATALOG.find((s) => s.name === a.tool)!;
  const parsed = spec.input.safeParse(JSON.parse(a.args));
  if (!parsed.success) return { kind: 'unavailable', why: 'its stored arguments do not parse as the tool\'s input (a value may be redacted), so no preview is computed' };
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return await Promise.race([preview(rt, parsed.data as Args, signal), aborted(signal)]);
  } catch (err) {
    // ToolFailure messages are written to be shown (no secrets, no stack); anything else is not.
    if (err instanceof ToolFailure && err.kind !== 'internal') return { kind: 'unavailable', why: `the current state could not be read: ${err.message}` };
    if (signal.aborted) return { kind: 'unavailable', why: `reading the current state took over ${timeoutMs} ms; reload to try again` };
    rt.log.warn({ approvalId: a.id, err: String(err) }, 'approval preview failed');
    return { kind: 'unavailable', why: 'the current state could not be read (see the server log)' };
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
}

const lines = (xs: readonly string[]): string => (xs.length ? `${xs.join('\n')}\n` : '');

function limitLines(r: ContainerResources): string[] {
  return describeResources(r).split(', ').map((part) => part.replace(/ /, ': '));
}

async function resourcesPreview(rt: Runtime, i: Args, signal: AbortSignal): Promise<ConfigPreview> {
  const host = i.host as string;
  const docker = rt.adapters.docker(host);
  const who = await docker.resolveContainer(i.container as string, { signal });
  const cur = await docker.resources(who.id, { signal });
  const next = nextResources(cur, i);
  const problem = boundsProblem(cur, next, rt.inventory.serviceAt(host, who.name)?.resources ?? null);
  const name = `${host}/${who.name}`;
  return {
    kind: 'diff',
    patch: createTwoFilesPatch(`${name} limits now`, `${name} limits after`, lines(limitLines(cur)), lines(limitLines(next))),
    ...(problem ? { note: `the tool would refuse these limits as they stand now: ${problem}` } : {}),
  };
}

async function containerConfigPreview(rt: Runtime, i: Args, signal: AbortSignal): Promise<ConfigPreview> {
  const host = i.host as string;
  const details = await rt.adapters.docker(host).inspectContainer(i.container as string, { signal });
  const env = i.env as { set: Record<string, string>; unset: string[] } | undefined;
  const touched = [...Object.keys(env?.set ?? {}), ...(env?.unset ?? [])].sort();
  const has = new Set(details.envNames);
  const before = [`image: ${details.image}`, ...touched.filter((k) => has.has(k)).map((k) => `env ${k}: set (value not shown)`)];
  const after = [`image: ${(i.image as string | undefined) ?? details.image}`, ...touched.flatMap((k) => {
    if (env?.unset.includes(k)) return [];
    return [has.has(k) ? `env ${k}: set to a new value (not shown)` : `env ${k}: set (value not shown)`];
  })];
  const name = `${host}/${bareName(details.name)}`;
  return {
    kind: 'diff',
    patch: createTwoFilesPatch(`${name} now`, `${name} after`, lines(before), lines(after)),
    note: 'the container is recreated with these differences and every other setting carried over; environment values are never shown',
  };
}

/**
 * Only the directive whose address the tool rewrites, at its own line: the rest of the file is not
 * shown, as the change journal keeps configs out of the audit (they can hold credentials). The
 * tool's own checks run first (resolveCall: an allowed backend, the service's own upstream): a call
 * it would refuse is shown as that refusal, never as a diff of a change that cannot happen.
 */
async function upstreamPreview(rt: Runtime, i: Args, signal: AbortSignal): Promise<ConfigPreview> {
  let s: ServiceRecord;
  let upstream: string | undefined;
  try {
    ({ s, upstream } = resolveUpstreamCall(i as Parameters<typeof resolveUpstreamCall>[0], rt.inventory));
  } catch (err) {
    if (err instanceof ToolFailure && err.kind === 'invalid_input') return refused(err.message);
    throw err;
  }
  const place = nginxPlace({ service: s.name }, rt.inventory);
  const files = rt.adapters.files(place.host, place.container);
  const texts: Array<{ path: string; text: string }> = [];
  for (const path of declaredFiles(s)) {
    // latin1: one character per byte, as the tool reads it, so offsets agree with its edit.
    texts.push({ path, text: (await files.read(path, { maxBytes: MAX_PREVIEW_FILE_BYTES, signal })).content.toString('latin1') });
  }
  let chosen;
  try {
    chosen = chooseEndpoint(texts.map((f) => ({ path: f.path, ...scanProxyConfig(f.text) })), upstream);
  } catch (err) {
    if (err instanceof ToolFailure && err.kind === 'invalid_input') return refused(`service "${s.name}": ${err.message}`);
    throw err;
  }
  const text = texts.find((f) => f.path === chosen.path)!.text;
  const e = chosen.endpoint;
  const server = i.server as string;
  if (e.address === server) return refused(`service "${s.name}" already proxies to ${server} (${chosen.path} line ${e.line}): the call would change nothing`);
  const [from, to] = directiveBounds(text, e.start, e.end);
  const before = text.slice(from, to).trim();
  const after = `${text.slice(from, e.start)}${server}${text.slice(e.end, to)}`.trim();
  // Blank lines above put the one-line hunk at the directive's real line number.
  const pad = '\n'.repeat(e.line - 1);
  return {
    kind: 'diff',
    patch: createTwoFilesPatch(chosen.path, chosen.path, `${pad}${before}\n`, `${pad}${after}\n`, 'now', 'after', { context: 0 }),
    note: 'only the directive that changes is shown; the tool edits just its address bytes, then runs nginx -t and reloads',
  };
}

const refused = (why: string): ConfigPreview => ({ kind: 'unavailable', why: `the tool would refuse this call: ${why}` });

/** The statement around an address on its line: from the previous `;`, `{` or `}` to its `;`. */
function directiveBounds(text: string, start: number, end: number): [number, number] {
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const nl = text.indexOf('\n', end);
  const lineEnd = nl < 0 ? text.length : nl;
  let from = start;
  while (from > lineStart && !';{}'.includes(text[from - 1]!)) from -= 1;
  const semi = text.indexOf(';', end);
  return [from, semi >= 0 && semi < lineEnd ? semi + 1 : lineEnd];
}

/**
 * A rollback restores the before state of a change the journal holds: resource limits are shown;
 * files are not. No signal: it reads only warden's own database and journal, synchronously (a
 * saved limits file is a few hundred bytes), so there is nothing that could go on after a timeout.
 */
async function rollbackPreview(rt: Runtime, i: Args): Promise<ConfigPreview> {
  const c = rt.changes.get(i.changeId as string);
  if (!c) return { kind: 'unavailable', why: `no change "${String(i.changeId)}" in the journal` };
  if (c.kind !== 'container_resources' || c.afterRef === null) {
    return { kind: 'unavailable', why: `change ${c.id} (${c.kind}, ${c.status}) would be put back to its saved before state: ${c.summary}. Its saved files are not shown here (they can hold credentials)` };
  }
  const parse = (ref: string): ContainerResources => JSON.parse(rt.changes.load(ref).toString('utf8')) as ContainerResources;
  return {
    kind: 'diff',
    patch: createTwoFilesPatch(`${c.target} limits after change ${c.id}`, `${c.target} limits restored`, lines(limitLines(parse(c.afterRef))), lines(limitLines(parse(c.beforeRef)))),
    note: `from the change journal (${c.status}); the live limits may differ if someone changed them since`,
  };
}
