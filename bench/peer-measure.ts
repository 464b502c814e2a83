// What bench/peers.ts measures on one server, and how it finds the server's equivalents of
// list_containers, inspect_container and container_logs from tools/list alone. No server is
// special-cased by name: a peer's tools are recognised by their names and input schemas.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';

export interface PickedCall {
  tool: string;
  args: Record<string, unknown>;
  /** What differs from the figure's definition (e.g. no tail parameter). */
  note?: string;
}

export interface Picked { list: PickedCall; inspect: PickedCall; logs: PickedCall }

const LIST = [/^list_containers$/, /^(\w+_)?container_list$/, /list.*container|container.*(list|ps)/i];
const INSPECT = [/^inspect_container$/, /^(\w+_)?container_inspect$/, /inspect.*container|container.*inspect/i];
const LOGS = [/^container_logs$/, /^(\w+_)?container_logs$/, /container.*logs?|logs?.*container/i];
const CONTAINER_PROP = /^(container|container_?id|containerId|container_?name|name|id)$/i;
const TAIL_PROP = /^(tail|tail_?lines|tailLines|lines)$/i;

function byPatterns(tools: Tool[], patterns: RegExp[]): Tool | undefined {
  for (const p of patterns) {
    const hit = tools.find((t) => p.test(t.name));
    if (hit) return hit;
  }
  return undefined;
}

type Props = Record<string, { type?: string | string[] }>;
const propsOf = (t: Tool): Props => (t.inputSchema.properties ?? {}) as Props;
const isString = (p: { type?: string | string[] } | undefined): boolean => p?.type === 'string' || (Array.isArray(p?.type) && p.type.includes('string'));

/** The server's three tools and the arguments that ask each for the same thing; a string says what is missing. */
export function pickTools(tools: Tool[], container: string, tail: number): Picked | string {
  const list = byPatterns(tools, LIST);
  const inspect = byPatterns(tools, INSPECT);
  const logs = byPatterns(tools, LOGS);
  const missing = [!list && 'a container list tool', !inspect && 'a container inspect tool', !logs && 'a container logs tool'].filter(Boolean);
  if (!list || !inspect || !logs) return `no ${missing.join(', ')} among: ${tools.map((t) => t.name).join(', ')}`;

  const listArgs: Record<string, unknown> = {};
  if ('all' in propsOf(list)) listArgs.all = true; // stopped containers too, as warden's default
  const target = (t: Tool): Record<string, unknown> | undefined => {
    const key = Object.keys(propsOf(t)).find((k) => CONTAINER_PROP.test(k));
    return key === undefined ? undefined : { [key]: container };
  };
  const inspectArgs = target(inspect);
  const logsArgs = target(logs);
  if (!inspectArgs) return `${inspect.name} has no container parameter`;
  if (!logsArgs) return `${logs.name} has no container parameter`;
  const tailKey = Object.keys(propsOf(logs)).find((k) => TAIL_PROP.test(k));
  if (tailKey !== undefined) logsArgs[tailKey] = isString(propsOf(logs)[tailKey]) ? String(tail) : tail;
  return {
    list: { tool: list.name, args: listArgs, note: 'all' in listArgs ? undefined : 'no `all` parameter' },
    inspect: { tool: inspect.name, args: inspectArgs },
    logs: { tool: logs.name, args: logsArgs, note: tailKey === undefined ? 'no tail parameter: returns the whole log' : undefined },
  };
}

export interface CallCount { errors: number; firstError?: string }

/** Calls the tool; a thrown error or an isError result counts as an error, and is still timed. */
export async function callOnce(client: Client, call: PickedCall, count: CallCount): Promise<CallToolResult | undefined> {
  try {
    const r = (await client.callTool({ name: call.tool, arguments: call.args })) as CallToolResult;
    if (r.isError) note(count, `${call.tool}: ${textOf(r).slice(0, 300)}`);
    return r;
  } catch (err) {
    note(count, `${call.tool}: ${String(err).slice(0, 300)}`);
    return undefined;
  }
}

function note(count: CallCount, message: string): void {
  count.errors += 1;
  count.firstError ??= message;
}

/** Characters of what a model receives: text blocks, other blocks as JSON, and structuredContent as JSON. */
export function answerChars(result: CallToolResult): number {
  let n = 0;
  for (const block of result.content ?? []) n += block.type === 'text' ? block.text.length : JSON.stringify(block).length;
  if (result.structuredContent !== undefined) n += JSON.stringify(result.structuredContent).length;
  return n;
}

/** Everything the answer says, for checking what it holds. */
export function allText(r: CallToolResult): string {
  return `${textOf(r)}\n${r.structuredContent === undefined ? '' : JSON.stringify(r.structuredContent)}`;
}

export function textOf(r: CallToolResult): string {
  return (r.content ?? []).map((b) => (b.type === 'text' ? b.text : JSON.stringify(b))).join('\n');
}

/** Median latency in ms of `calls` sequential calls, after `warmup` untimed ones. */
export async function latencyP50(client: Client, call: PickedCall, calls: number, count: CallCount, warmup = 3): Promise<number> {
  for (let i = 0; i < warmup; i += 1) await callOnce(client, call, count);
  const times: number[] = [];
  for (let i = 0; i < calls; i += 1) {
    const t = performance.now();
    await callOnce(client, call, count);
    times.push(performance.now() - t);
  }
  return median(times);
}

/**
 * Calls per second with one caller per entry of `clients` (the same client repeated means calls
 * in flight together on one connection), each making `perCaller` calls back to back.
 */
export async function throughput(clients: Client[], call: PickedCall, perCaller: number, count: CallCount): Promise<number> {
  await Promise.all(clients.map((c) => callOnce(c, call, count))); // each client's first call is cold
  const t = performance.now();
  await Promise.all(clients.map(async (c) => {
    for (let i = 0; i < perCaller; i += 1) await callOnce(c, call, count);
  }));
  return (clients.length * perCaller) / ((performance.now() - t) / 1000);
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
