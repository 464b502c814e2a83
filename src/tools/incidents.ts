// Past incidents, for learning from how similar failures ended. Read-only.
import { z } from 'zod';
import { defineTool } from './spec.js';

const MAX_RESULTS = 20;

export const searchIncidents = defineTool({
  name: 'search_incidents',
  title: 'Search past incidents',
  description:
    'Full-text search of past incidents: what failed, where, how it was fixed. Use it early with service and symptom (e.g. "db oom"); empty query: the latest. ' +
    `Read-only; at most ${MAX_RESULTS}.`,
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
    return `${n} incident${n === 1 ? '' : 's'}, ${resolved} with a resolution; newest opened ${out.incidents.map((i) => i.openedAt).sort().at(-1)!.slice(0, 16)}`;
  },
});
