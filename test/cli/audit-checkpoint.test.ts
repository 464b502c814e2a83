// Signed audit checkpoints end to end: a real `warden stdio` sends them to a webhook receiver on
// loopback, and `warden audit verify --checkpoint` holds the log to one the receiver kept. The
// forgery that passes the anchor (a tail cut, forged anew, the anchor file rewritten) fails there.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditInput } from '../../src/store/audit.js';
import { signCheckpoint } from '../../src/store/audit-key.js';
import { warden } from '../support/cli.js';
import { tempDir, waitFor } from '../support/processes.js';
import { spawnWardenStdio } from '../support/stdio-client.js';

interface Body { event: string; title: string; seq: number; hash: string; time: string; keyId: string; signature: string }

let server: Server;
const bodies: Body[] = [];
/** The pristine data dir the stdio server wrote, and its config; each test works on a copy. */
let origin: { dataDir: string; config: string };

beforeAll(async () => {
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      bodies.push(JSON.parse(data) as Body);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const dir = tempDir('checkpoint');
  const config = join(dir, 'warden.yaml');
  writeFileSync(config, [
    'notify:',
    '  webhooks:',
    `    - { url: "${url}", format: generic, events: [audit.checkpoint] }`,
    'audit:',
    '  checkpointEvery: { entries: 3, minutes: 10 }',
    '',
  ].join('\n'));
  origin = { dataDir: join(dir, 'data'), config };
  // No Docker at this socket: each read fails at once, and is audited (one failed entry) all the same.
  const stdio = await spawnWardenStdio({ WARDEN_CONFIG: config, WARDEN_DATA_DIR: origin.dataDir, DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` });
  try {
    for (let i = 0; i < 4; i += 1) await stdio.client.callTool({ name: 'list_containers', arguments: {} });
    // The third entry made a checkpoint; the fourth waits for shutdown.
    await waitFor('the checkpoint after 3 entries', async () => bodies.length >= 1);
  } finally {
    await stdio.close();
  }
  await waitFor('the checkpoint sent at shutdown', async () => bodies.length >= 2);
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

/** A copy of the data dir as the stdio server left it, with the same config. */
function copyWorld() {
  const dir = tempDir('checkpoint-copy');
  const dataDir = join(dir, 'data');
  cpSync(origin.dataDir, dataDir, { recursive: true });
  const env = { WARDEN_CONFIG: origin.config, WARDEN_DATA_DIR: dataDir };
  const keep = (name: string, value: unknown): string => {
    writeFileSync(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
    return join(dir, name);
  };
  return { dir, dataDir, env, keep };
}

/** Cut entries 3 and 4, write two forged ones with a recomputed chain, rewrite the anchor, restore the triggers. */
function forgeTail(dataDir: string): void {
  const db = new Database(join(dataDir, 'warden.db'));
  const triggers = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN ('audit_no_update', 'audit_no_delete')`).all() as Array<{ sql: string }>;
  expect(triggers).toHaveLength(2);
  db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= 3');
  for (const t of triggers) db.exec(t.sql);
  rmSync(join(dataDir, 'warden.db.head'));
  const audit = new AuditLog(db, join(dataDir, 'warden.db.head'));
  const forged = (phase: AuditInput['phase']): AuditInput => ({
    callId: 'c-forged', principal: 'local', transport: 'stdio', tool: 'list_containers', target: 'local', args: {}, argsHash: 'h',
    risk: 'read', decision: 'allow', rule: 'default:read', phase, result: 'nothing to see',
  });
  audit.append(forged('requested'));
  audit.append(forged('completed'));
  audit.close();
  db.close();
}

describe('signed audit checkpoints', () => {
  it('reach the receiver every N entries and at shutdown, signed by the data dir key, and verify against the log', () => {
    expect(bodies.map((b) => b.seq)).toEqual([3, 4]);
    const w = copyWorld();
    const { keyId } = JSON.parse(warden(['audit', 'pubkey', '--json'], w.env).stdout) as { keyId: string };
    for (const body of bodies) {
      expect(body).toMatchObject({ event: 'audit.checkpoint', title: `warden audit checkpoint: entry ${body.seq}`, keyId });
      expect(body.signature).toMatch(/^[0-9a-f]{128}$/);
      const r = warden(['audit', 'verify', '--checkpoint', w.keep(`cp-${body.seq}.json`, body)], w.env);
      expect(r, r.stderr).toMatchObject({ status: 0, stdout: `ok: 4 entries\ncheckpoint: entry ${body.seq} as signed by key ${keyId} at ${body.time}\n` });
    }
    const entries = JSON.parse(warden(['audit', 'list', '--json'], w.env).stdout) as Array<{ seq: number; hash: string }>;
    expect(entries.find((e) => e.seq === 4)?.hash).toBe(bodies[1]!.hash);
  });

  it('catch a cut tail forged anew with a rewritten anchor, which plain verify cannot', () => {
    const w = copyWorld();
    const kept = w.keep('kept.json', bodies[1]);
    forgeTail(w.dataDir);
    // The forgery is consistent: chain, anchor and triggers all check out.
    expect(warden(['audit', 'verify'], w.env)).toMatchObject({ status: 0, stdout: 'ok: 4 entries\n', stderr: '' });
    const r = warden(['audit', 'verify', '--checkpoint', kept], w.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^broken at entry 4: entry 4 differs from the signed checkpoint .*rewritten after the checkpoint was sent\n$/);
    const json = JSON.parse(warden(['audit', 'verify', '--checkpoint', kept, '--json'], w.env).stdout);
    expect(json).toMatchObject({ ok: false, brokenAt: 4, checkpoint: { seq: 4, hash: bodies[1]!.hash } });
  });

  it('catch a cut tail when the anchor is gone too', () => {
    const w = copyWorld();
    const kept = w.keep('kept.json', bodies[1]);
    const db = new Database(join(w.dataDir, 'warden.db'));
    db.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 4');
    db.close();
    rmSync(join(w.dataDir, 'warden.db.head'));
    expect(warden(['audit', 'verify', '--no-anchor'], w.env).status).toBe(0);
    const r = warden(['audit', 'verify', '--no-anchor', '--checkpoint', kept], w.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^broken at entry 4: entries 4\.\.4 are missing: the signed checkpoint names entry 4\n$/);
  });

  it('refuse a checkpoint whose signature, seq or hash was changed', () => {
    const w = copyWorld();
    const flip = (hex: string): string => (hex[10] === '0' ? '1' : '0');
    const sig = bodies[1]!.signature;
    for (const [name, altered] of [
      ['flipped', { ...bodies[1], signature: sig.slice(0, 10) + flip(sig) + sig.slice(11) }],
      ['moved', { ...bodies[1], seq: 3, hash: bodies[0]!.hash }],
    ] as const) {
      const r = warden(['audit', 'verify', '--checkpoint', w.keep(`${name}.json`, altered)], w.env);
      expect(r.status, name).toBe(1);
      expect(r.stdout).toMatch(/^broken: checkpoint .*: its signature does not verify with key [0-9a-f]{16}: the checkpoint was altered or forged\n$/);
    }
  });

  it('refuse a checkpoint signed by another key, whatever key id it claims', () => {
    const w = copyWorld();
    const other = generateKeyPairSync('ed25519').privateKey;
    const own = signCheckpoint(other, { seq: 4, hash: bodies[1]!.hash });
    let r = warden(['audit', 'verify', '--checkpoint', w.keep('other.json', own)], w.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^broken: checkpoint .*: it was signed by key ${own.keyId}, not by key ${bodies[0]!.keyId} .*pass --pubkey FILE`));
    const claimed = { ...own, keyId: bodies[0]!.keyId };
    r = warden(['audit', 'verify', '--checkpoint', w.keep('claimed.json', claimed)], w.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/its signature does not verify/);
  });

  it('--pubkey: the public key kept elsewhere still checks after an intruder replaced audit.key', () => {
    const w = copyWorld();
    const pub = w.keep('kept.pem', warden(['audit', 'pubkey'], w.env).stdout);
    const kept = w.keep('kept.json', bodies[1]);
    forgeTail(w.dataDir);
    // The intruder's own key, and a checkpoint of the forged head signed with it.
    const intruder = generateKeyPairSync('ed25519').privateKey;
    writeFileSync(join(w.dataDir, 'audit.key'), intruder.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const head = (JSON.parse(warden(['audit', 'list', '--json', '--limit', '1'], w.env).stdout) as Array<{ seq: number; hash: string }>)[0]!;
    const forged = w.keep('forged.json', signCheckpoint(intruder, head));

    let r = warden(['audit', 'verify', '--checkpoint', kept], w.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/it was signed by key .*, not by key .*if it was replaced, pass --pubkey FILE/);
    r = warden(['audit', 'verify', '--checkpoint', kept, '--pubkey', pub], w.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^broken at entry 4: entry 4 differs from the signed checkpoint/);
    r = warden(['audit', 'verify', '--checkpoint', forged, '--pubkey', pub], w.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^broken: checkpoint .*: it was signed by key [0-9a-f]{16}, not by key /);
    // Why --pubkey matters: the replaced key vouches for its own forgeries.
    expect(warden(['audit', 'verify', '--checkpoint', forged], w.env).status).toBe(0);
  });

  it('take the checkpoint bare or as the webhook body, under fields or checkpoint', () => {
    const w = copyWorld();
    const { event: _e, title: _t, ...bare } = bodies[1]!;
    for (const [name, value] of [['bare', bare], ['fields', { event: 'audit.checkpoint', fields: bare }], ['checkpoint', { checkpoint: bare }]] as const) {
      expect(warden(['audit', 'verify', '--checkpoint', w.keep(`${name}.json`, value)], w.env).status, name).toBe(0);
    }
  });

  it('a checkpoint file that is not one exits 2 naming what is wrong', () => {
    const w = copyWorld();
    const { signature: _s, ...unsigned } = bodies[1]!;
    for (const [name, value, message] of [
      ['missing', unsigned, /^warden: --checkpoint .*missing\.json: missing field "signature"\n$/],
      ['seq', { ...bodies[1], seq: 'four' }, /field "seq": expected a positive integer, got "four"/],
      ['notjson', '{"seq": 4,', /--checkpoint .*notjson\.json: not valid JSON/],
      ['array', [bodies[1]], /expected a JSON object/],
    ] as const) {
      const r = warden(['audit', 'verify', '--checkpoint', w.keep(`${name}.json`, value)], w.env);
      expect(r.status, name).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(warden(['audit', 'verify', '--checkpoint', join(w.dir, 'absent.json')], w.env)).toMatchObject({ status: 2, stderr: expect.stringMatching(/cannot read/) });
    // Alone it checks the archive segments' signatures: an unreadable key file is still bad input.
    expect(warden(['audit', 'verify', '--pubkey', join(w.dir, 'x.pem')], w.env)).toMatchObject({ status: 2, stderr: expect.stringMatching(/--pubkey .*x\.pem: cannot read/) });
    const notKey = w.keep('not.pem', 'hello');
    expect(warden(['audit', 'verify', '--checkpoint', w.keep('ok.json', bodies[1]), '--pubkey', notKey], w.env))
      .toMatchObject({ status: 2, stderr: expect.stringMatching(/--pubkey .*not\.pem: not a public key PEM/) });
  });
});

describe('the audit signing key', () => {
  it('is created 0600 with the data dir, and kept across starts', () => {
    expect(statSync(join(origin.dataDir, 'audit.key')).mode & 0o777).toBe(0o600);
    const w = copyWorld();
    const before = readFileSync(join(w.dataDir, 'audit.key'), 'utf8');
    expect(warden(['audit', 'list'], w.env).status).toBe(0);
    expect(readFileSync(join(w.dataDir, 'audit.key'), 'utf8')).toBe(before);
    expect(before).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('audit pubkey prints its public half, and its key id is the SHA-256 of the DER key', () => {
    const w = copyWorld();
    const pem = warden(['audit', 'pubkey'], w.env);
    expect(pem).toMatchObject({ status: 0, stdout: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n$/) });
    const json = JSON.parse(warden(['audit', 'pubkey', '--json'], w.env).stdout) as { keyId: string; publicKey: string };
    expect(json.publicKey).toBe(pem.stdout);
    const der = createPublicKey(pem.stdout).export({ type: 'spki', format: 'der' });
    expect(json.keyId).toBe(createHash('sha256').update(der).digest('hex').slice(0, 16));
    expect(json.keyId).toBe(bodies[0]!.keyId);
  });

  it('audit pubkey on a data dir without a key says so and creates nothing', () => {
    const dataDir = join(tempDir('checkpoint-none'), 'data');
    const r = warden(['audit', 'pubkey'], { WARDEN_DATA_DIR: dataDir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^warden: no audit key in .* yet: warden creates audit\.key when it first opens the data dir/);
    expect(existsSync(dataDir)).toBe(false);
    const verify = warden(['audit', 'verify', '--checkpoint', copyWorld().keep('kept.json', bodies[1])], { WARDEN_DATA_DIR: dataDir });
    expect(verify).toMatchObject({ status: 1, stderr: expect.stringMatching(/no audit key in .*pass --pubkey FILE/) });
  });
});
