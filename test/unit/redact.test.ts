import { describe, expect, it } from 'vitest';
import { REDACTED, redactText, redactValue } from '../../src/shared/redact.js';

describe('redactValue of an environment a call sets', () => {
  it('keeps the names and hides every value, whatever the name (STRIPE_KEY, JWT_KEY, MODE)', () => {
    const args = { container: 'web', env: { set: { STRIPE_KEY: 'sk_live_abc', JWT_KEY: 'k1', MODE: 'prod' }, unset: ['OLD'] } };
    expect(redactValue(args)).toEqual({ container: 'web', env: { set: { STRIPE_KEY: REDACTED, JWT_KEY: REDACTED, MODE: REDACTED }, unset: ['OLD'] } });
  });
});

describe('redactText', () => {
  it.each([
    ['password in key=value', 'connecting with DB_PASSWORD=hunter2 now', 'hunter2'],
    ['password in key: value', 'password: "s3cr3t!"', 's3cr3t!'],
    ['bearer token', 'Authorization: Bearer abcdef0123456789xyz', 'abcdef0123456789xyz'],
    ['AWS access key id', 'key AKIAIOSFODNN7EXAMPLE used', 'AKIAIOSFODNN7EXAMPLE'],
    ['AWS secret key', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI'],
    ['Anthropic key', 'ANTHROPIC=sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv', 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv'],
    ['OpenAI-style key', 'using sk-proj-abcdefghijklmnopqrstuvwxyz123456', 'sk-proj-abcdefghijklmnopqrstuvwxyz'],
    ['GitHub token', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ['Slack token', 'xoxb-1234567890-abcdefghij', 'xoxb-1234567890-abcdefghij'],
    ['private key block', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAA'],
    ['URL credentials', 'postgres://app:pa55word@db:5432/app', 'pa55word'],
    ['a key in a URL query', 'http://127.0.0.1:8080/healthz?key=Zx81kq0aa&v=1 answered 200', 'Zx81kq0aa'],
    ['a signature in a URL query', 'GET https://s3.example/b/o?X-Amz-Signature=abc123def456&X-Amz-Date=1', 'abc123def456'],
    ['JWT', 'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'dozjgNryP4J3jVmNHl0w5N'],
  ])('hides a %s', (_kind, text, secret) => {
    const out = redactText(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it('is idempotent, so a second pass over redacted text loses nothing', () => {
    const text = 'a\n-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----\nafter the key password=x';
    const once = redactText(text);
    expect(redactText(once)).toBe(once);
    expect(once).toContain('after the key');
  });

  it('leaves ordinary log lines alone', () => {
    const line = 'GET /health 200 3ms worker=4 cache=hit';
    expect(redactText(line)).toBe(line);
  });
});

describe('redactValue', () => {
  it('blanks values under secret-named keys and scans nested strings', () => {
    const out = redactValue({ env: { API_KEY: 'abc', HOME: '/root' }, note: 'token=xyz123', list: ['Bearer abcdefghijklmnop'] });
    expect(out).toEqual({ env: { API_KEY: REDACTED, HOME: '/root' }, note: `token=${REDACTED}`, list: [`Bearer ${REDACTED}`] });
  });
});

describe('redactText: forms found by an adversarial pass', () => {
  it.each([
    ['a PGP private key block', '-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBGXsecretbody\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----', 'secretbody'],
    ['--password X', 'pg_dump --password hunter2hunter2 db', 'hunter2hunter2'],
    ['--password=X', 'tool --password=hunter2hunter2', 'hunter2hunter2'],
    ["mysql's -pX", 'mysql -u root -phunter2hunter2 shop', 'hunter2hunter2'],
    ['Authorization: Digest', 'Authorization: Digest username=abcdefgh1234', 'abcdefgh1234'],
  ])('hides %s', (_what, text, secret) => {
    expect(redactText(text)).not.toContain(secret);
  });
});

