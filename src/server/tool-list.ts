// What clients see in tools/list, derived from the catalog once: JSON Schemas from the zod specs,
// the four annotations from the risk tier, and the tier itself in _meta.
import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/server';
import { annotationsFor } from '../shared/tiers.js';
import type { AnyToolSpec } from '../tools/spec.js';

export function toolListing(spec: AnyToolSpec): Tool {
  return {
    name: spec.name,
    title: spec.title,
    description: spec.description,
    // io 'input': fields with defaults are optional for the caller.
    inputSchema: z.toJSONSchema(spec.input, { io: 'input' }) as Tool['inputSchema'],
    outputSchema: z.toJSONSchema(spec.output) as Tool['outputSchema'],
    annotations: { title: spec.title, ...annotationsFor(spec.risk, { openWorld: spec.openWorld, idempotent: spec.idempotent }) },
    _meta: { 'warden/risk': spec.risk },
  };
}
