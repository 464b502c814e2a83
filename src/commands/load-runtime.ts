// The composition root, loaded when a command runs rather than when it is registered: it pulls in
// every layer (SQLite, the tool catalog, the adapters), which `warden --help` must never pay for.
import type { Config } from '../config.js';
import type { RuntimeOptions } from '../compose.js';
import type { Runtime } from '../server/runtime.js';

/** createRuntime: a runtime that calls tools through the guard, without metrics (only serve has /metrics). */
export async function loadRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const { createRuntime } = await import('../compose.js');
  return createRuntime(config, undefined, {}, { metrics: false, ...opts });
}

/** createRecordsRuntime: for a command that calls no tool (see RuntimeOptions.tolerateBadPolicy). */
export async function loadRecordsRuntime(config: Config): Promise<Runtime> {
  const { createRecordsRuntime } = await import('../compose.js');
  return createRecordsRuntime(config);
}
