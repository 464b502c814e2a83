// tools/list per caller: the catalog's listings, converted from zod once per guard, filtered to
// what this principal and role may ever call under the policy in force (tool-visibility.ts). Cached
// per (policy, role, principal): HTTP builds a server for every 2026-07-28 request, and neither the
// conversion nor the filtering may be paid again on each.
import type { Tool } from '@modelcontextprotocol/server';
import type { Guard } from '../policy/guard.js';
import type { Policy } from '../policy/policy-file.js';
import type { Role } from '../shared/roles.js';
import { toolListing, withUserInteraction } from './tool-list.js';
import { visibleTools } from './tool-visibility.js';

/** Distinct callers kept per policy before the cache starts afresh: principals come from tokens and config, but nothing bounds them here. */
const MAX_CALLERS = 256;

interface GuardListings {
  plain: Map<string, Tool>;
  held: Map<string, Tool>;
  /** The policy the cached listings were picked under: a reload is a new object, so they follow it. */
  policy: Policy | undefined;
  byCaller: Map<string, Tool[]>;
}

const cache = new WeakMap<Guard, GuardListings>();

function listingsOf(guard: Guard): GuardListings {
  let c = cache.get(guard);
  if (!c) {
    const plain = new Map(guard.tools().map((spec) => [spec.name, toolListing(spec)]));
    const held = new Map([...plain].map(([name, tool]) => [name, withUserInteraction(tool)]));
    cache.set(guard, (c = { plain, held, policy: undefined, byCaller: new Map() }));
  }
  return c;
}

export function listingFor(guard: Guard, who: { principal: string; role: Role; tools?: readonly string[] }): Tool[] {
  const c = listingsOf(guard);
  const policy = guard.policy();
  if (c.policy !== policy) {
    c.policy = policy;
    c.byCaller.clear();
  }
  // NUL cannot be in a role, so no principal can forge another caller's key.
  const key = `${who.role}\0${who.principal}\0${who.tools?.join(',') ?? '*'}`;
  let tools = c.byCaller.get(key);
  if (!tools) {
    if (c.byCaller.size >= MAX_CALLERS) c.byCaller.clear();
    // A caller given a subset of tools (the loop's first level) is shown that subset only.
    tools = visibleTools(policy, who, guard.tools()).filter((v) => !who.tools || who.tools.includes(v.name)).map((v) => (v.alwaysApproval ? c.held : c.plain).get(v.name)!);
    c.byCaller.set(key, tools);
  }
  return tools;
}
