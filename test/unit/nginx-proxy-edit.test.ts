// nginx-proxy-edit: which bytes of an nginx config are backend addresses nginx_set_upstream may rewrite,
// that a rewrite touches nothing else, and which one address is chosen (or why none can be).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ToolFailure } from '../../src/errors.js';
import {
  chooseEndpoint, findProxyEndpoints, isLiteralHostPort, replaceEndpoint, scanProxyConfig, type ConfigFileEndpoints, type ProxyEndpoint,
} from '../../src/tools/nginx-proxy-edit.js';
import { thrownFailure } from '../support/failures.js';

const addresses = (text: string): string[] => findProxyEndpoints(text).map((e) => e.address);
const fileOf = (path: string, text: string): ConfigFileEndpoints => ({ path, ...scanProxyConfig(text) });


describe('findProxyEndpoints: upstream servers', () => {
  it('finds the one server of an upstream with its exact offsets, line and block name', () => {
    const text = 'http {\n  upstream app {\n    server 10.0.0.5:8080 weight=5 max_fails=3;\n  }\n}\n';
    const [e, ...rest] = findProxyEndpoints(text);
    expect(rest).toEqual([]);
    expect(e).toEqual({ kind: 'upstream', upstream: 'app', address: '10.0.0.5:8080', start: text.indexOf('10.0.0.5'), end: text.indexOf(' weight'), line: 3 });
  });

  it('finds the servers of several upstreams in file order, each with its block name', () => {
    const text = 'upstream a { server 127.0.0.1:1; }\nupstream b { server app.internal:9000; server [::1]:2; }\n';
    expect(findProxyEndpoints(text).map((e) => [e.upstream, e.address])).toEqual([['a', '127.0.0.1:1'], ['b', 'app.internal:9000'], ['b', '[::1]:2']]);
  });

  it.each([
    ['IPv6 in brackets', 'server [2001:db8::1]:443 backup;', '[2001:db8::1]:443'],
    ['a host name', 'server app-1.internal:9000;', 'app-1.internal:9000'],
    ['a one-label name', 'server app:80;', 'app:80'],
    ['port 65535', 'server 10.1.2.3:65535;', '10.1.2.3:65535'],
  ])('reads %s as an address', (_what, line, address) => {
    expect(addresses(`upstream u {\n  ${line}\n}`)).toEqual([address]);
  });

  it.each([
    ['a unix socket', 'server unix:/run/app.sock;'],
    ['unix: followed by digits (nginx reads a socket path)', 'server unix:80;'],
    ['an address without a port', 'server app.internal;'],
    ['a quoted address', 'server "127.0.0.1:80";'],
    ['a $variable', 'server $backend:80;'],
    ['an escaped character', 'server 127.0.0.1\\:80;'],
    ['port 0', 'server 127.0.0.1:0;'],
    ['a port above 65535', 'server 127.0.0.1:65536;'],
    ['a server with no address', 'server;'],
  ])('skips %s but still counts the server entry', (_what, line) => {
    const scan = scanProxyConfig(`upstream u {\n  ${line}\n}`);
    expect(scan.endpoints).toEqual([]);
    expect(scan.upstreams).toEqual([{ name: 'u', line: 1, servers: 1 }]);
  });

  it('treats a commented-out server as a comment', () => {
    const text = 'upstream u {\n  # server 1.2.3.4:80;\n  server 5.6.7.8:80; # server 9.9.9.9:80;\n}';
    expect(addresses(text)).toEqual(['5.6.7.8:80']);
  });

  it('does not count server blocks or server directives outside an upstream block', () => {
    const text = 'http {\n  server 1.1.1.1:80;\n  server {\n    listen 127.0.0.1:80;\n    server_name a:80;\n    location / { server 2.2.2.2:80; }\n  }\n}';
    expect(scanProxyConfig(text)).toEqual({ endpoints: [], upstreams: [] });
  });

  it('does not take an upstream block nested in a server block as one', () => {
    expect(addresses('server { upstream u { server 1.2.3.4:80; } }')).toEqual([]);
  });

  it('reads a quoted or escaped upstream name as nginx does', () => {
    expect(findProxyEndpoints('upstream "my app" { server a:1; }')[0]?.upstream).toBe('my app');
  });
});

describe('findProxyEndpoints: proxy_pass', () => {
  it('returns only the host:port bytes of a literal proxy_pass with a URI', () => {
    const text = 'location /api/ {\n  proxy_pass http://127.0.0.1:8080/v1/;\n}';
    const [e] = findProxyEndpoints(text);
    expect(e).toEqual({ kind: 'proxy_pass', address: '127.0.0.1:8080', start: text.indexOf('127'), end: text.indexOf('/v1'), line: 2 });
    expect(e?.upstream).toBeUndefined();
  });

  it.each([
    ['https', 'proxy_pass https://api.internal:8443;', 'api.internal:8443'],
    ['an upper-case scheme', 'proxy_pass HTTP://a:81/;', 'a:81'],
    ['a query without a path', 'proxy_pass http://a:82?x=1;', 'a:82'],
    ['IPv6', 'proxy_pass http://[::1]:83/x;', '[::1]:83'],
  ])('reads a proxy_pass with %s', (_what, line, address) => {
    expect(addresses(`location / { ${line} }`)).toEqual([address]);
  });

  it('returns nothing for a proxy_pass naming an upstream: that block\'s server is the endpoint', () => {
    const text = 'upstream backend { server 10.0.0.1:80; }\nserver { location / { proxy_pass http://backend; } }';
    expect(findProxyEndpoints(text).map((e) => e.kind)).toEqual(['upstream']);
  });

  it.each([
    ['a $variable host', 'proxy_pass http://$upstream_host:80;'],
    ['a $variable anywhere in the URL', 'proxy_pass http://a:80/$request_uri;'],
    ['a name without a port and no such upstream', 'proxy_pass http://elsewhere;'],
    ['a quoted URL', 'proxy_pass "http://a:80";'],
    ['a unix socket', 'proxy_pass http://unix:/run/app.sock:/;'],
    ['no scheme', 'proxy_pass a:80;'],
    ['another scheme', 'proxy_pass grpc://a:80;'],
    ['user info', 'proxy_pass http://user@a:80;'],
    ['a second argument', 'proxy_pass http://a:80 extra;'],
  ])('skips a proxy_pass with %s', (_what, line) => {
    expect(addresses(`location / { ${line} }`)).toEqual([]);
  });

  it.each([
    ['location', 'location / { proxy_pass http://a:1; }', ['a:1']],
    ['if inside location', 'location / { if ($x) { proxy_pass http://a:1; } }', ['a:1']],
    ['limit_except', 'location / { limit_except GET { proxy_pass http://a:1; } }', ['a:1']],
    ['the top level of an included snippet', 'proxy_pass http://a:1;', ['a:1']],
    ['a map block (a table entry there)', 'map $a $b { proxy_pass http://a:1; }', []],
    ['an upstream block', 'upstream u { proxy_pass http://a:1; }', []],
  ])('inside %s', (_where, text, expected) => {
    expect(addresses(text)).toEqual(expected);
  });
});

describe('findProxyEndpoints: nginx token rules', () => {
  it.each([
    ['a double-quoted string', 'return 200 "proxy_pass http://a:1;";'],
    ['a single-quoted string', "add_header X 'upstream u { server b:2; }';"],
    ['a string with an escaped quote', 'return 200 "x\\"; proxy_pass http://a:1;";'],
    ['a multi-line string', 'return 200 "\nproxy_pass http://a:1;\n";'],
  ])('ignores directive words inside %s', (_what, text) => {
    expect(addresses(`location / { ${text} }`)).toEqual([]);
  });

  it('does not start a comment at # inside quotes', () => {
    expect(addresses('location / { return 200 "#"; proxy_pass http://a:1; }')).toEqual(['a:1']);
  });

  it('does not start a comment at # inside a word', () => {
    expect(addresses('location / { set $x a#b; proxy_pass http://a:1; }')).toEqual(['a:1']);
  });

  it('keeps ${ inside a word instead of opening a block', () => {
    expect(addresses('location / { set $a ${b}; proxy_pass http://a:1; }')).toEqual(['a:1']);
  });

  it('counts lines through comments and multi-line strings', () => {
    const text = '# one\nlocation / {\n  return 200 "a\nb\\\nc";\n  proxy_pass http://a:1;\n}';
    expect(findProxyEndpoints(text)[0]?.line).toBe(6);
  });

  it.each([
    ['an unterminated quote', 'upstream u { server a:1; }\nlocation / { return 200 "x; }\nupstream v { server b:2; }', ['a:1']],
    ['a quote run into the next word', 'upstream u { server a:1; }\nlocation / { return "x"y; }\nupstream v { server b:2; }', ['a:1']],
    ['a stray }', 'upstream u { server a:1; }\n}\nupstream v { server b:2; }', ['a:1']],
    ['a } ending a directive with no ;', 'upstream u { server a:1; server b:2 }\nupstream v { server c:3; }', ['a:1']],
    ['a ; with no directive', 'upstream u { server a:1; ; server b:2; }', ['a:1']],
    ['an unclosed block at the end', 'upstream u { server a:1; server b:2;', ['a:1', 'b:2']],
  ])('stops at %s, returning what came before', (_what, text, expected) => {
    expect(addresses(text)).toEqual(expected);
  });

  it.each([
    ['quotes', '"'.repeat(1_000_000)],
    ['open braces', '{'.repeat(1_000_000)],
    ['nested blocks', 'a {'.repeat(333_333)],
    ['one long word', `server ${'a'.repeat(1_000_000)}:80;`],
    ['backslashes', '\\'.repeat(1_000_000)],
    ['unclosed quotes after words', 'a "'.repeat(333_333)],
    ['upstreams', 'upstream u { server a:1; }'.repeat(40_000)],
  ])('gets through a megabyte of %s', (_what, text) => {
    expect(Array.isArray(findProxyEndpoints(text))).toBe(true);
  });
});

describe('replaceEndpoint', () => {
  const text = 'upstream app {\n    server 10.0.0.5:8080 weight=5 max_fails=3;  # primary\n}\n';

  it('changes only the address bytes, keeping every other byte', () => {
    const e = findProxyEndpoints(text)[0]!;
    const out = replaceEndpoint(text, e, '[fd00::7]:9090');
    expect(out.slice(0, e.start)).toBe(text.slice(0, e.start));
    expect(out.slice(e.start + '[fd00::7]:9090'.length)).toBe(text.slice(e.end));
    expect(out).toBe('upstream app {\n    server [fd00::7]:9090 weight=5 max_fails=3;  # primary\n}\n');
  });

  it('keeps the URI of a proxy_pass', () => {
    const conf = 'location / { proxy_pass http://a:1/x/?y; }';
    expect(replaceEndpoint(conf, findProxyEndpoints(conf)[0]!, 'b:2')).toBe('location / { proxy_pass http://b:2/x/?y; }');
  });

  it('refuses a stale endpoint whose bytes no longer match', () => {
    const e = findProxyEndpoints(text)[0]!;
    expect(thrownFailure(() => replaceEndpoint(text.replace('10.0.0.5', '10.0.0.6'), e, 'a:1')).kind).toBe('internal');
  });

  it.each(['a:1;', 'a:1\nserver b:2', 'unix:80', 'a', '"a:1"', 'a:1 backup'])('refuses to write %j, which is not a literal host:port', (address) => {
    expect(() => replaceEndpoint(text, findProxyEndpoints(text)[0]!, address)).toThrow(ToolFailure);
  });
});

describe('chooseEndpoint', () => {
  const one = fileOf('/etc/nginx/conf.d/app.conf', 'upstream app {\n  server 10.0.0.1:80;\n}\nserver { location / { proxy_pass http://app; } }');
  const two = fileOf('/etc/nginx/conf.d/two.conf', 'upstream web { server 10.0.0.2:80; }\nupstream api { server 10.0.0.3:80; }');
  const many = fileOf('/etc/nginx/nginx.conf', 'upstream pool {\n  server a:1;\n  server unix:/s;\n}');
  const socket = fileOf('/etc/nginx/sock.conf', 'upstream sock { server unix:/run/app.sock; }');
  const proxy = fileOf('/etc/nginx/site.conf', 'location / {\n  proxy_pass http://127.0.0.1:3000/;\n}');

  it('picks the one server of the named upstream', () => {
    expect(chooseEndpoint([one, two], 'api')).toEqual({ path: two.path, endpoint: two.endpoints[1] });
  });

  it('matches the upstream name without regard to case, as nginx does', () => {
    expect(chooseEndpoint([one], 'APP').endpoint.address).toBe('10.0.0.1:80');
  });

  it('refuses a named upstream with several servers, counting ones it cannot edit', () => {
    expect(thrownFailure(() => chooseEndpoint([many], 'pool')).message).toMatch('upstream pool has 2 servers; nginx_set_upstream points a service at one backend');
  });

  it('explains that a named upstream exists but has no host:port server', () => {
    expect(thrownFailure(() => chooseEndpoint([socket], 'sock')).message).toMatch('upstream sock has no server given as host:port (/etc/nginx/sock.conf:1)');
  });

  it('lists what it found when the named upstream is absent', () => {
    const f = thrownFailure(() => chooseEndpoint([two], 'app'));
    expect(f.kind).toBe('invalid_input');
    expect(f.message).toMatch('no upstream app in /etc/nginx/conf.d/two.conf; found upstream web (/etc/nginx/conf.d/two.conf:1, 1 server), upstream api (/etc/nginx/conf.d/two.conf:2, 1 server)');
  });

  it('refuses an upstream name defined in two files', () => {
    const again = fileOf('/etc/nginx/other.conf', 'upstream app { server 10.9.9.9:80; }');
    expect(thrownFailure(() => chooseEndpoint([one, again], 'app')).message).toMatch('upstream app is defined 2 times (/etc/nginx/conf.d/app.conf:1, /etc/nginx/other.conf:1)');
  });

  it('without a name, picks the only upstream when it has one server', () => {
    expect(chooseEndpoint([proxy, one])).toEqual({ path: one.path, endpoint: one.endpoints[0] });
  });

  it('without a name and no upstream, picks the only literal proxy_pass', () => {
    expect(chooseEndpoint([proxy])).toEqual({ path: proxy.path, endpoint: proxy.endpoints[0] });
  });

  it('without a name, picks the only proxy_pass when no upstream has a host:port server', () => {
    expect(chooseEndpoint([socket, proxy]).path).toBe(proxy.path);
  });

  it('without a name, refuses several upstreams, listing them and asking for nginx.upstream', () => {
    const message = thrownFailure(() => chooseEndpoint([two])).message;
    expect(message).toMatch('upstream web (/etc/nginx/conf.d/two.conf:1, 1 server), upstream api (/etc/nginx/conf.d/two.conf:2, 1 server)');
    expect(message).toMatch("the inventory's nginx.upstream must name");
  });

  it('without a name, does not fall back to a proxy_pass while an upstream server could be meant', () => {
    expect(thrownFailure(() => chooseEndpoint([many, proxy])).message).toMatch('upstream pool (/etc/nginx/nginx.conf:1, 2 servers), proxy_pass 127.0.0.1:3000 (/etc/nginx/site.conf:2)');
  });

  it('without a name, refuses several literal proxy_pass lines, listing each with its line', () => {
    const both = fileOf('/s.conf', 'location /a { proxy_pass http://a:1; }\nlocation /b { proxy_pass http://b:2; }');
    expect(thrownFailure(() => chooseEndpoint([both])).message).toMatch('proxy_pass a:1 (/s.conf:1), proxy_pass b:2 (/s.conf:2)');
  });

  it('says when it found nothing to change', () => {
    expect(thrownFailure(() => chooseEndpoint([fileOf('/e.conf', 'events {}')])).message).toMatch('no upstream block and no proxy_pass to a literal http(s)://host:port');
  });

  it('works from endpoints alone, seeing only editable servers', () => {
    expect(chooseEndpoint([{ path: one.path, endpoints: one.endpoints }], 'app').endpoint.address).toBe('10.0.0.1:80');
  });
});

// Config-shaped text: nginx syntax pieces in random order, so quotes, comments and blocks interleave.
const PIECES = [
  'upstream', 'u', 'server', 'proxy_pass', 'location', '/', 'map', 'http://', '127.0.0.1:80', '[::1]:443', 'a.b:9', 'unix:',
  '/x', '?q', '$', '{', '}', ';', '"', "'", '\\', '#', ' ', '\n', '\t', ':',
];
const configish = fc.array(fc.constantFrom(...PIECES), { maxLength: 80 }).map((p) => p.join(''));

const hostPort = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 65_535 })).map(([a, b, p]) => `10.${a}.${b}.1:${p}`),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}(\.[a-z0-9-]{1,8}){0,2}$/), fc.integer({ min: 1, max: 65_535 })).map(([h, p]) => `${h}:${p}`),
  fc.tuple(fc.stringMatching(/^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,3}$/), fc.integer({ min: 1, max: 65_535 })).map(([h, p]) => `[${h}::]:${p}`),
).filter((a) => !a.startsWith('unix:'));

// A generated config and the addresses an nginx reader would find in it, in order.
const space = fc.constantFrom(' ', '  ', '\t', '\n', ' \n  ');
const serverEntry = fc.tuple(hostPort, fc.constantFrom('', ' weight=5', ' max_fails=3 fail_timeout=5s', ' backup'), space)
  .map(([a, params, s]) => ({ text: `server ${a}${params};${s}`, found: [a] }));
const noise = fc.constantFrom(
  '# server 9.9.9.9:9;\n', 'server unix:/run/x.sock;\n', 'server "1.1.1.1:1";\n', '#proxy_pass http://c:3;\n',
).map((text) => ({ text, found: [] as string[] }));
const upstream = fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.array(fc.oneof(serverEntry, noise), { maxLength: 4 }), space)
  .map(([name, body, s]) => ({ text: `upstream ${name} {${s}${body.map((b) => b.text).join('')}}\n`, found: body.flatMap((b) => b.found) }));
const location = fc.tuple(hostPort, fc.constantFrom('', '/', '/api/v1', '?x=1'), space)
  .map(([a, uri, s]) => ({ text: `location / {${s}proxy_pass http://${a}${uri};${s}}\n`, found: [a] }));
const decoy = fc.constantFrom(
  'server { listen 80; return 200 "proxy_pass http://q:1;"; }\n', "map $a $b { proxy_pass http://m:1; }\n",
  'location /v { proxy_pass http://$host:80; }\n', 'location /n { proxy_pass http://backend; }\n',
).map((text) => ({ text, found: [] as string[] }));
const config = fc.array(fc.oneof(upstream, location, decoy), { maxLength: 6 })
  .map((parts) => ({ text: `http {\n${parts.map((p) => p.text).join('')}}\n`, found: parts.flatMap((p) => p.found) }));

const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;

describe('properties', () => {
  it('never throws on arbitrary text, and every endpoint names its own bytes and line', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), configish), (text) => {
      for (const e of findProxyEndpoints(text)) {
        expect(text.slice(e.start, e.end)).toBe(e.address);
        expect(isLiteralHostPort(e.address)).toBe(true);
        expect(e.line).toBe(lineAt(text, e.start));
      }
    }), { numRuns: 2_000 });
  });

  it('finds exactly the addresses a generated config holds, in order', () => {
    fc.assert(fc.property(config, ({ text, found }) => {
      expect(addresses(text)).toEqual(found);
    }));
  });

  it('after a replacement, finds the new address at the same index and offset and nothing else changed', () => {
    fc.assert(fc.property(fc.oneof(config.map((c) => c.text), configish), fc.nat(), hostPort, (text, pick, address) => {
      const before = findProxyEndpoints(text);
      fc.pre(before.length > 0);
      const i = pick % before.length;
      const after = findProxyEndpoints(replaceEndpoint(text, before[i]!, address));
      const expected: ProxyEndpoint[] = before.map((e, j) => {
        const shift = j > i ? address.length - before[i]!.address.length : 0;
        return j === i ? { ...e, address, end: e.start + address.length } : { ...e, start: e.start + shift, end: e.end + shift };
      });
      expect(after).toEqual(expected);
    }));
  });
});
