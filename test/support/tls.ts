// A self-signed certificate for 127.0.0.1 and localhost, made with Debian's openssl in a temp dir,
// for the tests that serve warden over server.tls.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from './processes.js';

export function selfSignedCert(): { certPath: string; keyPath: string } {
  if (spawnSync('openssl', ['version']).status !== 0) {
    throw new Error('openssl not found: install the Debian package openssl (this test makes its certificate with it)');
  }
  const dir = tempDir('tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath,
  ], { stdio: 'ignore' });
  return { certPath, keyPath };
}
