// Past incidents, for learning from how similar failures ended. Read-only.
import { z } from 'zod';
import { defineTool } from './spec.js';

const MAX_RESULTS = 20;

export const searchIncidents = defineTool({
  name: 'search_incidents',
  title: 'Search past incidents',
  description:
    'Full-text search over past incidents: what failed, on which target, and how it was resolved. ' +
    'Use it early when diagnosing, with the service or container name and the symptom (e.g. "db oom"), ' +
    'to see whether the same failure happened before and which fix worked. ' +
    'An empty query returns the most recent incidents. Words are matched as plain words (any of them). ' +
    `Read-only; returns at most ${MAX_RESULTS} incidents, newest and best matches first; empty until incidents have been recorded.`,
  family: 'incidents',
  risk: 'read',
  input: z.strictObject({
    query: z.string().max(500).default('').describe('Words to look for, e.g. "web-1 exit 137".'),
    limit: z.number().int().min(1).max(MAX_RESULTS).default(10).describe(`How many (1-${MAX_RESULTS}, default 10).`),
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
    return out.incidents
      .map((i) => `${i.id} ${i.status} ${i.openedAt.slice(0, 16)} ${i.target ?? '-'}: ${i.title}${i.resolution ? ` -> ${i.resolution}` : ''}`)
      .join('\n');
  },
});
