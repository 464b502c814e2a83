// Finds and rewrites the backend addresses in nginx config text for nginx_set_upstream: `server` entries
// of upstream blocks and literal `proxy_pass http(s)://host:port`. Pure: no I/O. It must never change a
// byte outside the one address asked for, nor take for a directive anything nginx would not read as one.
import { ToolFailure } from '../errors.js';

export interface ProxyEndpoint {
  kind: 'upstream' | 'proxy_pass';
  /** The upstream block's name for kind 'upstream'; always undefined for proxy_pass (see proxyPassEndpoint). */
  upstream?: string;
  /** The address text as written: "127.0.0.1:8080", "[::1]:80", "app.internal:9000". */
  address: string;
  /** Offsets into the text: text.slice(start, end) === address. */
  start: number;
  end: number;
  /** 1-based line of the address. */
  line: number;
}

/** One `upstream NAME { }` block; `servers` counts every `server` entry in it, editable or not. */
export interface UpstreamBlock {
  name: string;
  line: number;
  servers: number;
}

export interface ProxyScan {
  endpoints: ProxyEndpoint[];
  upstreams: UpstreamBlock[];
}

/** What chooseEndpoint needs of one file; without `upstreams` it sees only the editable servers. */
export interface ConfigFileEndpoints {
  path: string;
  endpoints: ProxyEndpoint[];
  upstreams?: UpstreamBlock[];
}

// The HostPort shape of the inventory schema; the length cap keeps the regex cheap on a 1 MB word.
const HOST_PORT = /^(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;
const MAX_ADDRESS_CHARS = 262;

/** A host:port nginx reads as a TCP address. "unix:80" is not one: nginx takes any "unix:" as a socket path. */
export function isLiteralHostPort(address: string): boolean {
  if (address.length > MAX_ADDRESS_CHARS || address.slice(0, 5).toLowerCase() === 'unix:') return false;
  const port = Number(HOST_PORT.exec(address)?.[1]);
  return port >= 1 && port <= 65_535;
}

interface Word {
  kind: 'word';
  /** For a quoted word, the offsets inside the quotes. */
  start: number;
  end: number;
  line: number;
  quoted: boolean;
}
type Token = Word | { kind: ';' | '{' | '}' };
interface Read { word: Word; next: number; line: number }

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/**
 * The words and punctuation of a config, by the rules of nginx's own reader (ngx_conf_read_token):
 * `#` starts a comment only where a word could start, quotes open only there too, `}` inside a word
 * is part of it, `${` does not open a block. A backslash keeps the next character in the word.
 * Stops at an unterminated quote or a quote not followed by a separator, as nginx would.
 */
function* tokenize(text: string): Generator<Token> {
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') line += 1;
    if (isSpace(c)) { i += 1; continue; }
    if (c === '#') { const nl = text.indexOf('\n', i); i = nl < 0 ? text.length : nl; continue; }
    if (c === ';' || c === '{' || c === '}') { yield { kind: c }; i += 1; continue; }
    const read = c === '"' || c === "'" ? readQuoted(text, i, line) : readWord(text, i, line);
    if (!read) return;
    yield read.word;
    i = read.next;
    line = read.line;
  }
}

function readQuoted(text: string, at: number, line: number): Read | undefined {
  const quote = text[at];
  let j = at + 1;
  let l = line;
  for (; j < text.length; j += 1) {
    const c = text[j];
    if (c === quote) break;
    if (c === '\n') l += 1;
    if (c === '\\') { if (text[j + 1] === '\n') l += 1; j += 1; }
  }
  const after = text[j + 1];
  if (j >= text.length || (after !== undefined && !isSpace(after) && after !== ';' && after !== '{' && after !== ')')) return undefined;
  return { word: { kind: 'word', start: at + 1, end: j, line, quoted: true }, next: j + 1, line: l };
}

function readWord(text: string, at: number, line: number): Read {
  let j = at;
  let l = line;
  let variable = false;
  while (j < text.length) {
    const c = text[j]!;
    if (c === '\\') { if (text[j + 1] === '\n') l += 1; j += 2; variable = false; continue; }
    if (c === '{' && variable) { j += 1; continue; }
    if (isSpace(c) || c === ';' || c === '{') break;
    variable = c === '$';
    j += 1;
  }
  const end = Math.min(j, text.length);
  return { word: { kind: 'word', start: at, end, line, quoted: false }, next: end, line: l };
}

/** A word's value as nginx sees it: \" \' \\ lose their backslash, \t \r \n become the character. */
function valueOf(text: string, w: Word): string {
  const raw = text.slice(w.start, w.end);
  if (!raw.includes('\\')) return raw;
  const escapes: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', t: '\t', r: '\r', n: '\n' };
  return raw.replace(/\\([\s\S])/g, (all, ch: string) => escapes[ch] ?? all);
}

// Where nginx allows these directives; a file's top level may be included anywhere, so it counts too.
// Inside map, geo, types and the like a line "proxy_pass http://a:1;" is a table entry, not a directive.
const UPSTREAM_PARENTS = new Set(['http', 'stream']);
const PROXY_PASS_PARENTS = new Set(['location', 'if', 'limit_except', 'server']);

interface Frame { name: string; upstream?: UpstreamBlock }

/**
 * Every upstream block and every editable address in one file's text. Where nginx would reject the
 * syntax (an unterminated quote, a stray `}`, `;` with no directive) it stops and returns what it found
 * before: nginx -t rejects that file anyway, and guessing past the error could misplace an edit.
 */
export function scanProxyConfig(text: string): ProxyScan {
  const scan: ProxyScan = { endpoints: [], upstreams: [] };
  const stack: Frame[] = [];
  let args: Word[] = [];
  for (const t of tokenize(text)) {
    if (t.kind === 'word') { args.push(t); continue; }
    const rejected = t.kind === '}' ? args.length > 0 || stack.length === 0 : args.length === 0;
    if (rejected) break;
    if (t.kind === '}') stack.pop();
    else if (t.kind === '{') stack.push(openBlock(text, args, stack.at(-1), scan));
    else addDirective(text, args, stack.at(-1), scan);
    args = [];
  }
  return scan;
}

/** Every editable backend address in one config file's text. */
export function findProxyEndpoints(text: string): ProxyEndpoint[] {
  return scanProxyConfig(text).endpoints;
}

function openBlock(text: string, args: Word[], parent: Frame | undefined, scan: ProxyScan): Frame {
  const name = valueOf(text, args[0]!);
  const label = args[1];
  if (name !== 'upstream' || args.length !== 2 || !label || (parent && !UPSTREAM_PARENTS.has(parent.name))) return { name };
  const upstream: UpstreamBlock = { name: valueOf(text, label), line: label.line, servers: 0 };
  scan.upstreams.push(upstream);
  return { name, upstream };
}

function addDirective(text: string, args: Word[], parent: Frame | undefined, scan: ProxyScan): void {
  const name = valueOf(text, args[0]!);
  const target = args[1];
  if (parent?.upstream && name === 'server') {
    parent.upstream.servers += 1;
    const address = target && !target.quoted ? text.slice(target.start, target.end) : '';
    if (target && isLiteralHostPort(address)) {
      scan.endpoints.push({ kind: 'upstream', upstream: parent.upstream.name, address, start: target.start, end: target.end, line: target.line });
    }
  } else if (name === 'proxy_pass' && target && args.length === 2 && (!parent || PROXY_PASS_PARENTS.has(parent.name))) {
    const endpoint = proxyPassEndpoint(text, target);
    if (endpoint) scan.endpoints.push(endpoint);
  }
}

/**
 * The host:port of `proxy_pass http(s)://host:port[/uri]`. One naming an upstream (http://backend) has no
 * port, so it is skipped: that block's own servers are the endpoints. With a `$` nginx evaluates the whole
 * URL per request; quoted or escaped text is left alone so offsets and value never differ.
 */
function proxyPassEndpoint(text: string, w: Word): ProxyEndpoint | undefined {
  if (w.quoted) return undefined;
  const url = text.slice(w.start, w.end);
  if (url.includes('$') || url.includes('\\')) return undefined;
  const scheme = /^https?:\/\//i.exec(url.slice(0, 8))?.[0].length;
  if (scheme === undefined) return undefined;
  let end = scheme;
  while (end < url.length && url[end] !== '/' && url[end] !== '?') end += 1;
  const address = url.slice(scheme, end);
  if (!isLiteralHostPort(address)) return undefined;
  return { kind: 'proxy_pass', address, start: w.start + scheme, end: w.start + end, line: w.line };
}

/** The text with one endpoint's address replaced by `address`; every other byte stays as it was. */
export function replaceEndpoint(text: string, e: ProxyEndpoint, address: string): string {
  if (text.slice(e.start, e.end) !== e.address) {
    throw new ToolFailure('internal', `stale endpoint: line ${e.line} no longer holds ${e.address}`);
  }
  // Validated by the caller already; checked again because anything else (a `;`, a newline) would write config.
  if (!isLiteralHostPort(address)) throw new ToolFailure('internal', `not a literal host:port: ${JSON.stringify(address)}`);
  return text.slice(0, e.start) + address + text.slice(e.end);
}

interface Choice { path: string; endpoint: ProxyEndpoint }
interface PlacedBlock { path: string; block: UpstreamBlock }

/**
 * Chooses the one address nginx_set_upstream changes. With `upstream`, that block's single server;
 * without, the only upstream block when it has a single server, else the only literal proxy_pass when
 * no upstream block has an editable server. Anything else is ambiguous: an invalid_input failure that
 * lists what was found, so the inventory's nginx.upstream can name the block.
 */
export function chooseEndpoint(files: ConfigFileEndpoints[], upstream?: string): Choice {
  return upstream === undefined ? chooseUnnamed(files) : chooseNamed(files, upstream);
}

// nginx matches upstream names without regard to case (proxy_pass http://Backend uses `upstream backend`).
const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

function chooseNamed(files: ConfigFileEndpoints[], name: string): Choice {
  const blocks = placedBlocks(files).filter((p) => sameName(p.block.name, name));
  if (blocks.length === 0) throw refuse(`no upstream ${name} in ${pathList(files)}; found ${foundList(files)}`);
  if (blocks.length > 1) throw refuse(`upstream ${name} is defined ${blocks.length} times (${blocks.map(where).join(', ')}); nginx_set_upstream changes one`);
  const { path, block } = blocks[0]!;
  const servers = serversOf(files, path, block.name);
  if (block.servers > 1) throw refuse(`upstream ${name} has ${block.servers} servers; nginx_set_upstream points a service at one backend`);
  if (servers.length !== 1) {
    throw refuse(`upstream ${name} has no server given as host:port (${where(blocks[0]!)}); `
      + 'a unix: socket, an address without a port, a quoted or $variable address cannot be edited');
  }
  return { path, endpoint: servers[0]! };
}

function chooseUnnamed(files: ConfigFileEndpoints[]): Choice {
  const blocks = placedBlocks(files);
  const only = blocks.length === 1 && blocks[0]!.block.servers === 1 ? blocks[0]! : undefined;
  const servers = only ? serversOf(files, only.path, only.block.name) : [];
  if (only && servers.length === 1) return { path: only.path, endpoint: servers[0]! };
  // A proxy_pass is taken only when no upstream server could be meant instead: a wrong guess would send
  // live traffic elsewhere, and nginx.upstream can name a block but not a proxy_pass.
  const editableUpstream = files.some((f) => f.endpoints.some((e) => e.kind === 'upstream'));
  const proxies = files.flatMap((f) => f.endpoints.filter((e) => e.kind === 'proxy_pass').map((endpoint) => ({ path: f.path, endpoint })));
  if (!editableUpstream && proxies.length === 1) return proxies[0]!;
  throw refuse(`cannot tell which backend address to change in ${pathList(files)}: found ${foundList(files)}; `
    + "the inventory's nginx.upstream must name the one upstream block to change");
}

/** The blocks a scan reported, or, without that, those its editable servers imply. */
function placedBlocks(files: ConfigFileEndpoints[]): PlacedBlock[] {
  return files.flatMap((f) => (f.upstreams ?? impliedBlocks(f.endpoints)).map((block) => ({ path: f.path, block })));
}

function impliedBlocks(endpoints: ProxyEndpoint[]): UpstreamBlock[] {
  const byName = new Map<string, UpstreamBlock>();
  for (const e of endpoints) {
    if (e.kind !== 'upstream' || e.upstream === undefined) continue;
    const block = byName.get(e.upstream) ?? { name: e.upstream, line: e.line, servers: 0 };
    block.servers += 1;
    byName.set(e.upstream, block);
  }
  return [...byName.values()];
}

function serversOf(files: ConfigFileEndpoints[], path: string, name: string): ProxyEndpoint[] {
  const file = files.find((f) => f.path === path);
  return (file?.endpoints ?? []).filter((e) => e.kind === 'upstream' && e.upstream !== undefined && sameName(e.upstream, name));
}

const MAX_LISTED = 20;
const where = (p: PlacedBlock): string => `${p.path}:${p.block.line}`;
const pathList = (files: ConfigFileEndpoints[]): string => files.map((f) => f.path).join(', ') || 'no files';

function foundList(files: ConfigFileEndpoints[]): string {
  const items = [
    ...placedBlocks(files).map((p) => `upstream ${p.block.name} (${where(p)}, ${p.block.servers} server${p.block.servers === 1 ? '' : 's'})`),
    ...files.flatMap((f) => f.endpoints.filter((e) => e.kind === 'proxy_pass').map((e) => `proxy_pass ${e.address} (${f.path}:${e.line})`)),
  ];
  if (items.length === 0) return 'no upstream block and no proxy_pass to a literal http(s)://host:port';
  const more = items.length > MAX_LISTED ? `, and ${items.length - MAX_LISTED} more` : '';
  return items.slice(0, MAX_LISTED).join(', ') + more;
}

const refuse = (message: string): ToolFailure => new ToolFailure('invalid_input', message);
