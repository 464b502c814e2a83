// A tcp:// Docker endpoint with TLS client files, against a real TLS server on 127.0.0.1 that
// demands a client certificate signed by its CA and answers the two Docker API calls listing needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAdapters } from '../../src/adapters/index.js';
import type { HostSpec } from '../../src/adapters/hosts.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from '../support/processes.js';

let dir: string;
let server: Server;
let port: number;
const seen: string[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makeCerts(): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=warden-test-ca', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
  for (const [name, ext] of [['server', 'subjectAltName=IP:127.0.0.1'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  }
}

beforeAll(async () => {
  dir = tempDir('docker-tls');
  makeCerts();
  const file = (n: string): Buffer => readFileSync(join(dir, n));
  server = createServer({ ca: file('ca.pem'), cert: file('server.pem'), key: file('server-key.pem'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.setHeader('Content-Type', 'application/json');
    if (req.url?.startsWith('/containers/json')) {
      res.end(JSON.stringify([{ Id: 'f00dfeedcafe0000', Names: ['/api'], Image: 'busybox', State: 'running', Status: 'Up 2 minutes' }]));
    } else if (req.url?.startsWith('/containers/f00dfeedcafe0000/json')) {
      res.end(JSON.stringify({ Id: 'f00dfeedcafe0000', RestartCount: 0, State: { Running: true, ExitCode: 0 }, HostConfig: { RestartPolicy: { Name: 'no' } } }));
    } else {
      res.statusCode = 404;
      res.end('{"message":"not here"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

const host = (tls: { caPath: string; certPath: string; keyPath: string } | undefined): HostSpec => ({
  name: 'tlsbox',
  docker: { kind: 'url', url: `tcp://127.0.0.1:${port}`, ...(tls ? { tls } : {}) },
});

describe('Docker over tcp:// with TLS client files', () => {
  it('lists containers through a mutually authenticated TLS connection', async () => {
    const adapters = createAdapters([host({ caPath: join(dir, 'ca.pem'), certPath: join(dir, 'client.pem'), keyPath: join(dir, 'client-key.pem') })], silentLogger);
    const list = await adapters.docker('tlsbox').listContainers({ all: true });
    expect(list.map((c) => [c.name, c.state])).toEqual([['api', 'running']]);
    expect(seen).toContain('GET /containers/json?all=true');
  });

  it('is refused when the endpoint has no TLS client files', async () => {
    const adapters = createAdapters([host(undefined)], silentLogger);
    await expect(adapters.docker('tlsbox').listContainers({ all: true })).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('names the host, the inventory field and the path when a TLS file cannot be read', () => {
    const adapters = createAdapters([host({ caPath: '/nonexistent/ca.pem', certPath: '/x', keyPath: '/y' })], silentLogger);
    expect(() => adapters.docker('tlsbox')).toThrow(/Docker on host tlsbox: cannot read a TLS client file hosts\.tlsbox\.dockerTls\.ca: \/nonexistent\/ca\.pem: no such file/);
  });
});
