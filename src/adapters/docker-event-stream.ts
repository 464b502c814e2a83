// Docker's event stream is newline-delimited JSON whose chunks may cut a line anywhere. This turns
// it into plain DockerEvents; a line that is not an event is skipped, never thrown.
import { StringDecoder } from 'node:string_decoder';
import type { DockerEvent } from './docker-types.js';
import { bareName } from '../shared/containers.js';

/** A line longer than this is not an event we know: dropped, so a broken peer cannot grow memory. */
const MAX_LINE_BYTES = 1024 * 1024;

interface RawEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, unknown> };
  time?: number;
  timeNano?: number;
}

export function toDockerEvent(raw: RawEvent): DockerEvent | undefined {
  const action = raw.Action ?? raw.status;
  if (typeof action !== 'string') return undefined;
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.Actor?.Attributes ?? {})) if (v !== undefined && v !== null) attributes[k] = String(v);
  return {
    type: raw.Type ?? 'container',
    action,
    id: raw.Actor?.ID ?? raw.id ?? '',
    name: bareName(attributes.name),
    attributes,
    timeNano: raw.timeNano ?? (raw.time ?? 0) * 1e9,
  };
}

export async function* readEventStream(stream: AsyncIterable<Buffer | string>): AsyncIterable<DockerEvent> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      const event = parseLine(line);
      if (event) yield event;
    }
    if (pending.length > MAX_LINE_BYTES) pending = '';
  }
  const last = parseLine((pending + decoder.end()).trim());
  if (last) yield last;
}

function parseLine(line: string): DockerEvent | undefined {
  if (line === '') return undefined;
  try {
    return toDockerEvent(JSON.parse(line) as RawEvent);
  } catch {
    return undefined;
  }
}
