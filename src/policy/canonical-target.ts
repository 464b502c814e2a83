// Every spelling of a target becomes one before the gate decides: a host by its inventory name
// (or an alias: any case, its address), a container by name, `/name`, unique ID prefix or full ID
// -> its name, with its full ID kept beside it. Rules, limits, approvals and the audit then speak
// of what a call really touches. A write whose target cannot be resolved is refused, not decided
// on the raw string.
import type { Adapters } from '../adapters/index.js';
import { ToolFailure } from '../errors.js';
import { bareName } from '../shared/containers.js';
import type { Risk } from '../shared/tiers.js';
import type { InventoryReader } from '../store/readers.js';

export interface Canonical {
  /** The input with `host` and `container` in their canonical spelling. */
  input: Record<string, unknown>;
  /** The container's full ID, when the call names a container that was looked up. */
  targetId?: string;
  /** Set when Docker could not be asked and the name was taken as given (only when allowed). */
  unresolved?: string;
}

/** A ref Docker might read as an ID prefix: it prefers an exact name, then an ID prefix. */
const MAYBE_ID = /^[0-9a-f]{1,64}$/;
const LOCAL_ALIASES = new Set(['localhost', '127.0.0.1', '::1']);

export class TargetCanonicalizer {
  constructor(private readonly adapters: Adapters, private readonly inventory: InventoryReader) {}

  /** The canonical host name, or undefined when nothing in the inventory answers to `name`. */
  host(name: string): string | undefined {
    const hosts = this.inventory.hosts();
    // The hosts the adapters serve are the ones a call can reach; the inventory adds aliases.
    const known = new Set(['local', ...this.adapters.hosts(), ...hosts.map((h) => h.name)]);
    if (known.has(name)) return name;
    const lower = name.toLowerCase();
    const byCase = [...known].find((h) => h.toLowerCase() === lower);
    if (byCase) return byCase;
    const byAddress = hosts.find((h) => h.address === name || h.ssh?.address === name);
    if (byAddress) return byAddress.name;
    return LOCAL_ALIASES.has(lower) && !hosts.some((h) => h.name === 'local') ? 'local' : undefined;
  }

  /**
   * Rewrites `host` and `container` to their canonical spelling. A write always looks its
   * container up (the ID binds approvals and goes to the audit); a read only when the ref could be
   * an ID, since a plain name is already what Docker will act on.
   */
  async canonicalize(input: Record<string, unknown>, risk: Risk, opts: { allowUnreachable?: boolean } = {}): Promise<Canonical> {
    const out = { ...input };
    if (typeof input.host === 'string') {
      const host = this.host(input.host);
      if (host === undefined) {
        if (risk !== 'read') throw new ToolFailure('invalid_input', `no host "${input.host}" in the inventory; query_inventory lists the hosts`);
      } else out.host = host;
    }
    if (typeof input.container !== 'string') return { input: out };
    const ref = bareName(input.container);
    if (risk === 'read' && !MAYBE_ID.test(ref)) return { input: { ...out, container: ref } };
    const host = typeof out.host === 'string' ? out.host : 'local';
    try {
      const found = await this.adapters.docker(host).resolveContainer(ref);
      return { input: { ...out, container: found.name }, targetId: found.id };
    } catch (err) {
      // `warden policy check` may explain a decision without Docker; a call never runs on a guess.
      if (!opts.allowUnreachable || !(err instanceof ToolFailure) || err.kind !== 'unavailable') throw err;
      return { input: { ...out, container: ref }, unresolved: err.message };
    }
  }
}
