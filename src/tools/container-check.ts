// The check a container change holds: running, not restarting, not unhealthy, and answering the
// service's HTTP health check when the inventory names one. Shared by the container change kinds.
import { httpCheckOf } from '../adapters/http-probe.js';
import type { InventoryReader } from '../store/readers.js';
import type { Verification } from './change-transaction.js';
import { probeOnce, type Probe } from './nginx-change.js';
import type { ToolContext } from './spec.js';

export interface ContainerAt {
  host: string;
  /** An id: a container recreated under the same name is another one. */
  id: string;
  name: string;
  probe: Probe | null;
}

export async function runsNow(ctx: Pick<ToolContext, 'adapters'>, c: ContainerAt): Promise<Verification> {
  const s = await ctx.adapters.docker(c.host).containerState(c.id);
  if (!s.running || s.restarting) return { ok: false, detail: `${c.name} is ${s.restarting ? 'restarting' : s.state} (exit ${s.exitCode}${s.oomKilled ? ', OOMKilled' : ''})` };
  if (s.health === 'unhealthy') return { ok: false, detail: `${c.name} is unhealthy` };
  if (!c.probe) return { ok: true, detail: `${c.name} running` };
  const p = await probeOnce(c.probe);
  return { ok: p.ok, detail: `${c.name} running; ${p.detail}` };
}

/** The service's HTTP health check for the container at host/name, when the inventory has one. */
export function healthProbe(inventory: InventoryReader, host: string, name: string): Probe | null {
  return httpCheckOf(inventory.serviceAt(host, name)?.healthCheck);
}
