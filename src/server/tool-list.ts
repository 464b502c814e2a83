// What clients see in tools/list, derived from the catalog once: JSON Schemas from the zod specs,
// the four annotations from the risk tier, and the tier itself in _meta (caller-listing.ts picks
// each caller's tools from these).
// The listing is part of every session's context, so it carries no byte the model does not need:
// input schemas keep every field, type, bound, enum and default but not the regex patterns (the zod
// schema still enforces them, and a miss is an error naming the field); output schemas name each
// top-level field and its type, never claiming more than is true.
import { z } from 'zod';
import type { Tool } from '@modelcontextprotocol/server';
import { annotationsFor } from '../shared/tiers.js';
import type { AnyToolSpec } from '../tools/spec.js';

type JsonSchema = Record<string, unknown>;

/**
 * Noise zod emits on every node: `.int()` bounds that only restate "a safe integer", and
 * `propertyNames: {type: string}` on records (JSON object keys are strings anyway).
 */
function dropNoise(node: JsonSchema): void {
  delete node.pattern;
  if (node.minimum === Number.MIN_SAFE_INTEGER) delete node.minimum;
  if (node.maximum === Number.MAX_SAFE_INTEGER) delete node.maximum;
  const names = node.propertyNames as JsonSchema | undefined;
  if (names && Object.keys(names).length === 1 && names.type === 'string') delete node.propertyNames;
}

/**
 * An output schema only has to let the client check what comes back: `required` and
 * `additionalProperties: false` are dropped, which leaves it looser, never wrong. Input schemas keep
 * both: they tell the model which fields it must give and that no other field is accepted.
 */
function loosenOutput(node: JsonSchema): void {
  dropNoise(node);
  delete node.required;
  if (node.additionalProperties === false) delete node.additionalProperties;
}

/**
 * Below the top level an output schema keeps only each node's type: the model learns the shape of
 * nested values from the values themselves, and the client's check stays true (looser, never wrong).
 */
function shallow(node: JsonSchema, depth: number): JsonSchema {
  const props = node.properties as Record<string, JsonSchema> | undefined;
  if (depth === 0 && props) {
    return { ...node, properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, shallow(v, 1)])) };
  }
  const kept: JsonSchema = {};
  for (const key of ['type', 'description', 'enum', 'const'] as const) if (node[key] !== undefined) kept[key] = node[key];
  const options = node.anyOf as JsonSchema[] | undefined;
  if (options && kept.type === undefined) {
    const types = options.map((o) => o.type);
    if (types.every((t) => typeof t === 'string')) kept.type = [...new Set(types as string[])];
  }
  return kept;
}

/** No `$schema`: MCP reads a schema without one as JSON Schema 2020-12, which is what zod emits. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  // override runs once per zod node, so a field that happens to be named "required" is never touched.
  const override = io === 'input' ? dropNoise : loosenOutput;
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, override: ({ jsonSchema: node }) => override(node as JsonSchema) });
  return io === 'output' ? shallow(rest, 0) : rest;
}

/**
 * What Claude Code reads on a listed tool to ask the user before every call, in any permission mode
 * (bypassPermissions too) and with no "don't ask again": set on the tools warden holds for approval
 * anyway, so the human sees the call before it is even sent.
 */
export const REQUIRES_USER_INTERACTION = 'anthropic/requiresUserInteraction';

/** `tool` marked as one that always waits for a human. */
export function withUserInteraction(tool: Tool): Tool {
  return { ...tool, _meta: { ...tool._meta, [REQUIRES_USER_INTERACTION]: true } };
}

export function toolListing(spec: AnyToolSpec): Tool {
  return {
    name: spec.name,
    // Clients show `title` first (MCP 2025-11-25: title, then annotations.title, then name): it is not repeated in annotations.
    title: spec.title,
    description: spec.description,
    // io 'input': fields with defaults are optional for the caller.
    inputSchema: jsonSchema(spec.input, 'input') as Tool['inputSchema'],
    outputSchema: jsonSchema(spec.output, 'output') as Tool['outputSchema'],
    annotations: annotationsFor(spec.risk, { openWorld: spec.openWorld, idempotent: spec.idempotent }),
    _meta: { 'warden/risk': spec.risk },
  };
}
