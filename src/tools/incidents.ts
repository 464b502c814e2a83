// Past incidents, for learning from how similar failures ended; fixes a person validated rank a
// little higher and say so. Read-only: validating is a person's act (CLI, console), never a tool's.
import { z } from 'zod';
import { defineTool } from './spec.js';

const MAX_RESULTS = 20;

export const searchIncidents = defineTool({
  name: 'search_incidents',
  title: 'Search past incidents',
  description:
    'Full-text search of past incidents: what failed, where, how it was fixed. Use it early with service and symptom ("db oom"); empty query: the latest. ' +
    `validated: true means a person confirmed the fix; it outranks equal matches. Read-only; at most ${MAX_RESULTS}.`,
  family: 'incidents',
  risk: 'read',
  input: z.strictObject({
    query: z.string().max(500).default('').describe('Words, e.g. "web-1 exit 137".'),
    limit: z.number().int().min(1).max(MAX_RESULTS).default(10).describe('How many.'),
  }),
  output: z.object({
    incidents: z.array(
      z.object({
        id: z.string(),
        openedAt: z.string(),
        closedAt: z.string().nullable(),
        status: z.string(),
        target: z.string().nullable(),
        title: z.string(),
        resolution: z.string().nullable(),
        validated: z.boolean(),
        validation: z.object({ by: z.string(), at: z.string(), note: z.string() }).optional(),
      }),
    ),
  }),
  target: () => 'incidents',
  async run(input, ctx) {
    return { incidents: ctx.incidents.search(input.query, input.limit) };
  },
  summarize(out) {
    if (out.incidents.length === 0) return 'no matching incidents';
    const n = out.incidents.length;
    const resolved = out.incidents.filter((i) => i.resolution).length;
    const validated = out.incidents.filter((i) => i.validated).length;
    const confirmed = validated ? `, ${validated} validated by a person` : '';
    return `${n} incident${n === 1 ? '' : 's'}, ${resolved} with a resolution${confirmed}; newest opened ${out.incidents.map((i) => i.openedAt).sort().at(-1)!.slice(0, 16)}`;
  },
});
