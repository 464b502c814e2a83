// The console's static files, all served by warden itself (no CDN): htmx and its SSE extension from
// node_modules, and the console's own stylesheet and script from public/. Read once, on first use,
// and served with a digest ETag; an unknown name is a 404 (no path from the request reaches the disk).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const require = createRequire(import.meta.url);
// src/server/console and dist/server/console are both three levels below the package root.
const PUBLIC = fileURLToPath(new URL('../../../public/', import.meta.url));

const SOURCES: Record<string, { path: () => string; type: string }> = {
  'htmx.min.js': { path: () => require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript; charset=utf-8' },
  'sse.min.js': { path: () => require.resolve('htmx-ext-sse/dist/sse.min.js'), type: 'text/javascript; charset=utf-8' },
  'console.js': { path: () => `${PUBLIC}console.js`, type: 'text/javascript; charset=utf-8' },
  'console.css': { path: () => `${PUBLIC}console.css`, type: 'text/css; charset=utf-8' },
  'favicon.svg': { path: () => `${PUBLIC}favicon.svg`, type: 'image/svg+xml' },
};

const loaded = new Map<string, Asset>();

export function asset(name: string): Asset | undefined {
  const source = Object.hasOwn(SOURCES, name) ? SOURCES[name] : undefined;
  if (!source) return undefined;
  let found = loaded.get(name);
  if (!found) {
    const body = readFileSync(source.path());
    found = { body, type: source.type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    loaded.set(name, found);
  }
  return found;
}

export function assetResponse(name: string, ifNoneMatch: string | undefined): Response {
  const a = asset(name);
  if (!a) return new Response('no such asset', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  const headers = { 'content-type': a.type, etag: a.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  if (ifNoneMatch === a.etag) return new Response(null, { status: 304, headers });
  return new Response(new Uint8Array(a.body), { status: 200, headers });
}
