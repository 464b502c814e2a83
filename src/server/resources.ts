// MCP resources: the inventory and the policy in force, for a person to attach in Claude
// Desktop. Read-only views of the store; nothing here changes anything.
import { ResourceNotFoundError, type Server } from '@modelcontextprotocol/server';
import type { Policy } from '../policy/policy-file.js';
import type { InventoryReader } from '../store/readers.js';

const SERVICES = 'warden://inventory/services';
const POLICY = 'warden://policy';

function json(uri: string, value: unknown) {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}

function policySummary(policy: Policy) {
  return {
    source: policy.source,
    killSwitch: policy.killSwitch,
    dryRun: policy.dryRun,
    defaults: policy.defaults,
    rules: policy.rules.map((r) => ({ name: r.name, decision: r.decision, reason: r.reason })),
    limits: policy.limits.map((l) => ({ name: l.name, tools: l.tools, effects: l.effects, per: l.per, max: l.max, windowMinutes: l.windowMs / 60_000, then: l.then })),
  };
}

/** `policy` is asked on every read: a long-lived session must see a reloaded policy, as its tools/list does. */
export function registerResources(server: Server, inventory: InventoryReader, policy: () => Policy): void {
  server.setRequestHandler('resources/list', async () => ({
    resources: [
      { uri: SERVICES, name: 'services', title: 'Inventory: services', description: 'Every service warden knows: host, container, owner, tier, dependencies.', mimeType: 'application/json' },
      { uri: POLICY, name: 'policy', title: 'Policy in force', description: 'Kill switch, dry run, rules and limits of the active policy.', mimeType: 'application/json' },
    ],
  }));
  server.setRequestHandler('resources/templates/list', async () => ({
    resourceTemplates: [
      { uriTemplate: `${SERVICES}/{name}`, name: 'service', title: 'Inventory: one service', mimeType: 'application/json' },
    ],
  }));
  server.setRequestHandler('resources/read', async (req) => {
    const { uri } = req.params;
    if (uri === SERVICES) return json(uri, inventory.services());
    if (uri === POLICY) return json(uri, policySummary(policy()));
    if (uri.startsWith(`${SERVICES}/`)) {
      const service = inventory.service(decodeURIComponent(uri.slice(SERVICES.length + 1)));
      if (service) return json(uri, service);
    }
    throw new ResourceNotFoundError(uri);
  });
}
