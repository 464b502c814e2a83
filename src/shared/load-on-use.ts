// Loads a CommonJS library when it is first needed rather than at start: `warden --help` and
// `warden stdio` never pay for dockerode, prom-client, RE2 or tar-stream unless they use them.
// require() caches the module, so later calls cost a map lookup.
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

export function loadOnUse<T>(name: string): T {
  return requireHere(name) as T;
}
