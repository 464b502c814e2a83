// Built-in TLS: `server.tls` with a self-signed certificate that openssl makes for this test.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { fakeAdapters } from '../support/fake-docker.js';
import { startTestGateway } from '../support/http-gateway.js';
import { selfSignedCert } from '../support/tls.js';

/** GET over HTTPS trusting only `ca`, so the test proves the served certificate is the configured one. */
function get(url: string, ca: Buffer | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, headers }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => { body += b.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('server.tls', () => {
  it('serves HTTPS with the configured certificate, and the same auth behind it', async () => {
    const tls = selfSignedCert();
    const g = await startTestGateway({ adapters: fakeAdapters(), server: { tls } });
    try {
      expect(g.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = readFileSync(tls.certPath);
      const health = await get(`${g.url}/healthz`, ca);
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
      expect((await get(`${g.url}/metrics`, ca)).status).toBe(401);
      expect((await get(`${g.url}/metrics`, ca, { authorization: `Bearer ${g.token('prom', 'readonly')}` })).status).toBe(200);
      await expect(get(`${g.url}/healthz`, undefined)).rejects.toThrow(/self[- ]signed/);
      await expect(fetch(`${g.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
    } finally {
      await g.close();
    }
  });

  it('names the config field when a certificate file cannot be read', async () => {
    await expect(startTestGateway({ adapters: fakeAdapters(), server: { tls: { certPath: '/nonexistent/cert.pem', keyPath: '/nonexistent/key.pem' } } }))
      .rejects.toThrow(/server\.tls\.certPath \/nonexistent\/cert\.pem: cannot read/);
  });
});
