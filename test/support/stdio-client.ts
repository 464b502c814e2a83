// `warden stdio` as Claude Desktop runs it: a child process spoken to over its stdin and stdout,
// by the real SDK client (v2, or v1 to prove older clients still connect).
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Readable } from 'node:stream';
import { CLI } from './cli.js';
import { recordPid } from './processes.js';

export interface StdioWarden<C> {
  client: C;
  pid: number;
  stderr: () => string;
  close(): Promise<void>;
}

function baseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', WARDEN_LOG_LEVEL: 'info', ...env } as Record<string, string>;
}

function collect(stream: Readable | null): () => string {
  let text = '';
  stream?.on('data', (b: Buffer) => { text = (text + b.toString()).slice(-20_000); });
  return () => text;
}

export async function spawnWardenStdio(env: NodeJS.ProcessEnv, opts: { elicitation?: boolean } = {}): Promise<StdioWarden<Client>> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'stdio'], env: baseEnv(env), stderr: 'pipe' });
  const stderr = collect(transport.stderr as Readable | null);
  const client = new Client({ name: 'warden-test', version: '1' }, { capabilities: opts.elicitation ? { elicitation: { form: {} } } : {} });
  await client.connect(transport);
  const pid = transport.pid!;
  recordPid(pid);
  return { client, pid, stderr, close: () => client.close() };
}

export async function spawnWardenStdioV1(env: NodeJS.ProcessEnv): Promise<StdioWarden<V1Client>> {
  const transport = new V1StdioClientTransport({ command: process.execPath, args: [CLI, 'stdio'], env: baseEnv(env), stderr: 'pipe' });
  const stderr = collect(transport.stderr as Readable | null);
  const client = new V1Client({ name: 'warden-test-v1', version: '1' });
  await client.connect(transport);
  const pid = transport.pid!;
  recordPid(pid);
  return { client, pid, stderr, close: () => client.close() };
}
