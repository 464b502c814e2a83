// The nginx side of a configuration change: the files a service declares (never any other), saved
// and restored whole; `nginx -t` and a reload through reload_nginx's own steps; and the check that
// the site answers as the inventory's health check expects. Used by nginx_set_upstream, by a
// verified reload_nginx and by rollback_change.
import { httpCheckOf, probeExpecting, type HttpCheck } from '../adapters/http-probe.js';
import { ToolFailure } from '../errors.js';
import type { ServiceRecord } from '../store/readers.js';
import { Rejected, holdCheck, type ChangeKind, type Verification } from './change-transaction.js';
import { AbsolutePath } from './nginx.js';
import { testAndReload, type NginxPlace } from './nginx-reload.js';
import type { ToolContext } from './spec.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;
const PROBE_TIMEOUT_MS = 5_000;
/** How long a rollback's check holds when the site worked before the change. */
const ROLLBACK_HOLD_S = 3;

export type Probe = HttpCheck;

export interface NginxFilesPlan {
  place: NginxPlace;
  probe: Probe;
  verifySeconds: number;
  /** What the site answered just before the change: a rollback must bring this back. */
  baseline: { passed: boolean; status: number | null; detail: string };
}

interface SavedFile {
  path: string;
  mode: number;
  /** base64 */
  content: string;
}

/** Every file of a service's nginx a change may touch: its confPath and the files it declares. */
export function declaredFiles(s: ServiceRecord): string[] {
  if (!s.nginx) throw new ToolFailure('invalid_input', `service "${s.name}" has no nginx entry in the inventory`);
  const paths = [s.nginx.confPath, ...(s.nginx.files ?? [])];
  for (const p of paths) {
    if (!AbsolutePath.safeParse(p).success) throw new ToolFailure('invalid_input', `the inventory's nginx file ${p} of service "${s.name}" is not a plain absolute path; fix the inventory`);
  }
  return [...new Set(paths)];
}

/** The service's HTTP health check: a change is made only where warden can check that it works. */
export function probeOf(s: ServiceRecord): Probe {
  const check = httpCheckOf(s.healthCheck);
  if (!check) {
    throw new ToolFailure('invalid_input', `service "${s.name}" has no healthCheck.http in the inventory, so warden could not check that a change works; declare one (with status and keyword if 2xx is not enough)`);
  }
  return check;
}

export const bundleBytes = (files: SavedFile[]): Buffer => Buffer.from(JSON.stringify({ files }));

export function bundleOf(bytes: Buffer): SavedFile[] {
  const parsed = JSON.parse(bytes.toString('utf8')) as { files?: SavedFile[] };
  if (!Array.isArray(parsed.files)) throw new ToolFailure('internal', 'a saved nginx state without files');
  return parsed.files;
}

/** Reads the files as they are now. */
export async function readFiles(ctx: Pick<ToolContext, 'adapters' | 'signal'>, place: NginxPlace, paths: readonly string[]): Promise<SavedFile[]> {
  const files = ctx.adapters.files(place.host, place.container);
  const out: SavedFile[] = [];
  for (const path of paths) {
    const f = await files.read(path, { maxBytes: MAX_CONFIG_BYTES, signal: ctx.signal });
    out.push({ path, mode: f.mode, content: f.content.toString('base64') });
  }
  return out;
}

export async function writeFiles(ctx: Pick<ToolContext, 'adapters' | 'signal'>, place: NginxPlace, saved: readonly SavedFile[]): Promise<void> {
  const files = ctx.adapters.files(place.host, place.container);
  for (const f of saved) await files.write(f.path, Buffer.from(f.content, 'base64'), { mode: f.mode, signal: ctx.signal });
}

export async function probeOnce(probe: Probe): Promise<Verification & { status: number | null }> {
  const r = await probeExpecting(probe.url, probe, PROBE_TIMEOUT_MS);
  return { ok: r.passed, detail: r.detail, status: r.status };
}

/**
 * Refuses (Rejected: nothing was touched) when the files are no longer what the change was computed
 * from: another change or a hand edit landed between reading them and the change's start.
 */
export async function unchangedSince(ctx: ToolContext, place: NginxPlace, saved: readonly SavedFile[]): Promise<void> {
  const changed = await differs(ctx, place, saved);
  if (changed !== undefined) {
    throw new Rejected(`${changed} changed while the change was prepared`, new ToolFailure('target_failed', `${changed} changed while this change was being prepared (another change, or a hand edit): nothing was written; read it again and retry`));
  }
}

/** Which saved file differs from the host now, if any. */
async function differs(ctx: ToolContext, place: NginxPlace, saved: readonly SavedFile[]): Promise<string | undefined> {
  const now = await readFiles(ctx, place, saved.map((f) => f.path));
  return saved.find((f, i) => f.content !== now[i]?.content)?.path;
}

export const nginxFilesKind: ChangeKind = {
  kind: 'nginx_files',
  async drift(change, ctx) {
    const plan = change.plan as NginxFilesPlan;
    if (change.afterRef === null) return undefined;
    const now = await readFiles(ctx, plan.place, bundleOf(ctx.changes.load(change.beforeRef)).map((f) => f.path));
    const matches = (ref: string): boolean => bundleOf(ctx.changes.load(ref)).every((f, i) => f.content === now[i]?.content);
    if (matches(change.afterRef) || matches(change.beforeRef)) return undefined;
    return `the nginx files of ${change.target} were changed since change ${change.id} (by hand, or by something other than warden): a rollback would overwrite that; restore them by hand`;
  },
  async restore(change, ctx) {
    const plan = change.plan as NginxFilesPlan;
    const before = bundleOf(ctx.changes.load(change.beforeRef));
    const now = await readFiles(ctx, plan.place, before.map((f) => f.path));
    const stale = before.filter((f, i) => f.content !== now[i]?.content);
    if (stale.length) await writeFiles(ctx, plan.place, stale);
    const reloaded = await testAndReload(plan.place, ctx);
    return `${stale.length ? `restored ${stale.length} file(s)` : 'files already as before'}; nginx -t passed; reloaded${reloaded.workersReplaced ? '' : ` (${reloaded.note ?? ''})`}`;
  },
  async check(change, ctx, expect) {
    const plan = change.plan as NginxFilesPlan;
    const ref = expect === 'after' ? change.afterRef : change.beforeRef;
    if (ref === null) return { ok: false, detail: 'no after state was recorded' };
    const changed = await differs(ctx, plan.place, bundleOf(ctx.changes.load(ref)));
    if (changed !== undefined) return { ok: false, detail: `${changed} is not as the ${expect === 'after' ? 'change' : 'saved before state'} left it: someone else changed it` };
    if (expect === 'after') return holdCheck(() => probeOnce(plan.probe), plan.verifySeconds, ctx.signal);
    return servesAsBefore(plan, ctx.signal);
  },
};

/** After a rollback: the site answers as it did just before the change (held briefly when that was a pass). */
async function servesAsBefore(plan: NginxFilesPlan, signal: AbortSignal): Promise<Verification> {
  if (plan.baseline.passed) return holdCheck(() => probeOnce(plan.probe), ROLLBACK_HOLD_S, signal);
  const now = await probeOnce(plan.probe);
  const same = now.status === plan.baseline.status;
  return { ok: same, detail: same ? `serves as before the change (${now.detail}; it was failing before too: ${plan.baseline.detail})` : `answers differently from before the change: now ${now.detail}, before ${plan.baseline.detail}` };
}

/** The plan of a change to these files, with the site's answer just before it. */
export async function nginxPlan(place: NginxPlace, probe: Probe, verifySeconds: number): Promise<NginxFilesPlan> {
  const b = await probeOnce(probe);
  return { place, probe, verifySeconds, baseline: { passed: b.ok, status: b.status, detail: b.detail } };
}

