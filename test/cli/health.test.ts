// `warden status` and `warden doctor` as a user runs them: status reads what running processes
// recorded and exits 1 naming each problem, and warns of a watch that has not run for longer than
// its cadence allows; doctor checks the setup itself (files, database, Docker, SSH, the Messages
// API, webhooks) on a broken and on a good setup, and names each database file the user it runs
// as cannot write. Neither creates a database.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/store/db.js';
import { HealthStateStore } from '../../src/store/health-states.js';
import { KillSwitchStore } from '../../src/store/kill-switch.js';
import { SafeModeStore } from '../../src/store/safe-mode.js';
import { CLI, dataDirEnv, warden } from '../support/cli.js';
import { startDockerd, type Dockerd } from '../support/dockerd.js';
import { writeInventory } from '../support/inventory.js';
import { tempDir } from '../support/processes.js';
import { startSshd, type Sshd } from '../support/sshd.js';

const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();

/** A data dir with a migrated database, and `seed` run on it. */
function recorded(seed: (db: ReturnType<typeof openDb>) => void) {
  const dir = tempDir('status');
  const db = openDb(join(dir, 'data'));
  try {
    seed(db);
  } finally {
    db.close();
  }
  return { dir, env: dataDirEnv(dir) };
}

const openBreaker = { name: 'docker:local', state: 'open' as const, since: minutesAgo(2), failures: 5, lastError: 'connect ENOENT /var/run/docker.sock', retryAt: minutesAgo(-1), updatedBy: 'box:42' };

function outboxRow(db: ReturnType<typeof openDb>, createdAt: string, status: 'pending' | 'delivered' | 'failed'): void {
  db.prepare(`INSERT INTO outbox (key, created_at, hook, event, body, status, next_at) VALUES (?, ?, ?, 'escalation', '{}', ?, ?)`)
    .run(`k-${createdAt}-${status}`, createdAt, 'https://hooks.example.invalid/services/SECRET', status, createdAt);
}

describe('warden status', () => {
  it('exits 1 naming safe mode and an open breaker', () => {
    const w = recorded((db) => {
      new SafeModeStore(db).set(true, 'loop', '4 of 5 writes failed verification in 30m', { failed: 4 }, () => undefined);
      new HealthStateStore(db).saveBreaker(openBreaker);
    });
    const r = warden(['status'], w.env);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+safe mode\s+ON by loop .*: 4 of 5 writes failed verification in 30m; the loop's writes are dry runs until `warden loop arm`$/m);
    expect(r.stdout).toMatch(/^FAIL\s+breaker docker:local\s+open since 2m ago \(5 failures, last: connect ENOENT \/var\/run\/docker\.sock\); next trial /m);
    expect(r.stdout).toMatch(/^2 problems$/m);
    expect(r.stderr).toMatch(/^warden: status: safe mode: ON .*; breaker docker:local: open since /m);
  });

  it('shows the kill switch on without calling it a problem, and exits 0', () => {
    const w = recorded((db) => {
      new KillSwitchStore(db).set(true, 'ops', 'migration tonight', () => undefined);
      new HealthStateStore(db).saveBreaker({ ...openBreaker, state: 'closed', retryAt: null });
    });
    const r = warden(['status'], w.env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^warn\s+kill switch\s+ON by ops .*: migration tonight; only read tools run$/m);
    expect(r.stdout).toMatch(/^ok\s+breakers\s+1 of 1 closed$/m);
    expect(r.stdout).toMatch(/^no problems, 1 warning$/m);
  });

  it('shows a pause a person chose (warden loop pause) as a warning, audited and lifted by loop arm', () => {
    const w = recorded(() => undefined);
    const paused = warden(['loop', 'pause', '--reason', 'deploy window', '--by', 'ops', '--json'], w.env);
    expect(paused.status, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ paused: true, safeMode: { on: true, by: 'ops', reason: 'deploy window' } });
    expect(JSON.parse(warden(['loop', 'pause', '--reason', 'again', '--by', 'ops', '--json'], w.env).stdout)).toMatchObject({ paused: false, safeMode: { reason: 'deploy window' } });
    const r = warden(['status'], w.env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^warn\s+safe mode\s+ON \(paused by ops .*\): deploy window; the loop's writes are dry runs until `warden loop arm`$/m);
    expect(warden(['loop', 'pause', '--reason', ' ', '--by', 'ops'], w.env).status).toBe(2);
    expect(warden(['loop', 'arm', '--reason', 'done', '--by', 'ops'], w.env).status).toBe(0);
    const tools = (JSON.parse(warden(['audit', 'list', '--json'], w.env).stdout) as Array<{ tool: string; principal: string }>).map((e) => `${e.tool}:${e.principal}`);
    expect(tools).toEqual(expect.arrayContaining(['loop.pause:ops', 'loop.arm:ops']));
  });

  it('--json reports every part, and names undelivered notifications and a stale heartbeat as problems', () => {
    const w = recorded((db) => {
      const health = new HealthStateStore(db);
      health.saveWatch({ name: 'heartbeat', at: minutesAgo(10), ok: true, detail: 'pushed', updatedBy: 'box:42' });
      health.saveWatch({ name: 'retention', at: minutesAgo(60), ok: false, detail: 'database is locked', updatedBy: 'box:42' });
      outboxRow(db, minutesAgo(20), 'pending');
      outboxRow(db, minutesAgo(1), 'pending');
      outboxRow(db, minutesAgo(30), 'delivered');
    });
    writeFileSync(join(w.dir, 'warden.yaml'), 'loop:\n  heartbeat: { url: "http://127.0.0.1:9/push/TOKEN", intervalSeconds: 60 }\n');
    const r = warden(['--config', join(w.dir, 'warden.yaml'), 'status', '--json'], w.env);
    expect(r.status, r.stderr).toBe(1);
    const json = JSON.parse(r.stdout) as Record<string, unknown> & { problems: string[]; checks: Array<{ name: string; level: string }> };
    expect(Object.keys(json).sort()).toEqual(['approvals', 'at', 'breakers', 'checks', 'dataDir', 'incidents', 'killSwitch', 'monitors', 'ok', 'outbox', 'problems', 'safeMode', 'warnings', 'watches']);
    expect(json.ok).toBe(false);
    expect(json.problems).toEqual([
      'watch retention: failed 1h ago: database is locked',
      expect.stringMatching(/^watch heartbeat: stale: last 10m ago, expected every 60s/),
      expect.stringMatching(/^outbox: 2 notifications undelivered, the oldest from 20m ago/),
    ]);
    expect(json.outbox).toMatchObject({ pending: 2, failed: 0, lastFailure: null });
    expect(json.killSwitch).toMatchObject({ on: false });
    expect(json.safeMode).toMatchObject({ on: false });
    expect(json.incidents).toEqual({});
    expect(json.approvals).toEqual({ pending: 0 });
    expect(json.monitors).toEqual({ down: [], firing: [] });
    expect(json.checks.map((c) => `${c.level} ${c.name}`)).toContain('ok kill switch');
    expect(r.stdout).not.toMatch(/TOKEN|SECRET/);
  });

  it('warns of a watchdog pass from two days ago, naming when it last ran, and exits 0', () => {
    const w = recorded((db) => {
      const health = new HealthStateStore(db);
      health.saveWatch({ name: 'watchdog', at: minutesAgo(2 * 24 * 60), ok: true, detail: 'nothing stuck', updatedBy: 'box:42' });
      health.saveWatch({ name: 'retention', at: minutesAgo(60), ok: true, detail: 'pruned 3 rows', updatedBy: 'box:42' });
    });
    const r = warden(['status'], w.env);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^warn\s+watch watchdog\s+stale: last ran 2d ago \(nothing stuck\), expected every 30s: is `warden serve` running with the loop on\?$/m);
    expect(r.stdout).toMatch(/^ok\s+watch retention\s+ok 1h ago: pruned 3 rows$/m);
    expect(r.stdout).toMatch(/^no problems, 1 warning$/m);
  });

  it('names notifications given up on by their webhook origin only', () => {
    const w = recorded((db) => outboxRow(db, minutesAgo(3), 'failed'));
    const r = warden(['status'], w.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+outbox given up\s+1 notifications given up on in the last 24h; the last, escalation to https:\/\/hooks\.example\.invalid: no error recorded$/m);
    expect(r.stdout + r.stderr).not.toMatch(/SECRET/);
    expect(warden(['status', '--json'], w.env).stdout).not.toMatch(/SECRET/);
  });
});

describe('neither command creates a database', () => {
  it('in an empty data dir: status says there is none and exits 1, doctor reports it', () => {
    const dir = tempDir('status-empty');
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    const env = { ...dataDirEnv(dir), DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` };
    const status = warden(['status'], env, dir);
    expect(status.status).toBe(1);
    expect(status.stderr).toMatch(/^warden: no database at .*\/data\/warden\.db: warden has not run with the data dir .*\/data \(set by WARDEN_DATA_DIR\)/m);
    const doctor = warden(['doctor', '--timeout', '2'], env, dir);
    expect(doctor.stdout).toMatch(/^warn\s+database\s+no database at .*warden\.db yet: warden creates it at its first start$/m);
    expect(doctor.stdout).toMatch(/^ok\s+data dir\s+.* is a writable directory$/m);
    expect(doctor.stdout).toMatch(/^warn\s+inventory\s+none loaded \(no database to read\) and no inventory files at /m);
    expect(readdirSync(data)).toEqual([]);
  });
});

/** setpriv on the PATH, to run warden as another user (only root may). */
const setpriv = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'setpriv')).find((p) => existsSync(p));
const canSwitchUser = process.getuid?.() === 0 && setpriv !== undefined;
const NOBODY = 65534;

describe('warden doctor and database files the user it runs as cannot use', () => {
  // Needs root (to chown the files) and setpriv (to run warden as uid 65534): skipped when either is missing.
  it.skipIf(!canSwitchUser)('names each file left by root as a FAIL of the database, and changes none of them (needs root and setpriv)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-doctor-owner-'));
    try {
      chmodSync(dir, 0o755);
      const data = join(dir, 'data');
      openDb(data).close(); // as `sudo warden inventory load` leaves it: made by root
      chmodSync(join(data, 'warden.db'), 0o644);
      writeFileSync(join(data, 'warden.db.head'), '{}\n', { mode: 0o600 });
      writeFileSync(join(data, 'audit.key'), 'not a key\n', { mode: 0o600 });
      chownSync(dir, NOBODY, NOBODY);
      chownSync(data, NOBODY, NOBODY); // the dir is the service user's; its files stay root's
      const snapshot = () => readdirSync(data).sort().map((f) => `${f} ${createHash('sha256').update(readFileSync(join(data, f))).digest('hex')}`);
      const before = snapshot();
      const env = { PATH: process.env.PATH, HOME: dir, WARDEN_DATA_DIR: data, DOCKER_HOST: `unix://${join(dir, 'none.sock')}`, WARDEN_LOG_LEVEL: 'warn' };
      const asNobody = (args: string[]) => spawnSync(setpriv!, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, ...args], {
        encoding: 'utf8', cwd: dir, env, timeout: 30_000,
      });

      // What the service user's warden gets from those files:
      const write = asNobody(['killswitch', 'on', '--reason', 'probe', '--by', 'bob']);
      expect(write.status).not.toBe(0);
      expect(write.stderr).toMatch(/cannot open .*warden\.db: EACCES/);

      const doctor = asNobody(['doctor', '--timeout', '1']);
      expect(doctor.status, doctor.stdout + doctor.stderr).toBe(1);
      const line = doctor.stdout.split('\n').find((l) => /^\S+\s+database\s/.test(l)) ?? '';
      expect(line, doctor.stdout).toMatch(/^FAIL\s+database\s/);
      expect(line).toContain(`${join(data, 'warden.db')} is not writable (EACCES, owner uid 0, mode 0644)`);
      expect(line).toContain(`${join(data, 'warden.db.head')} is not writable (EACCES, owner uid 0, mode 0600)`);
      expect(line).toContain(`${join(data, 'audit.key')} is not readable (EACCES, owner uid 0, mode 0600)`);
      expect(line).toMatch(/warden run as uid 65534 cannot open them \(files left by `sudo warden \.\.\.`\? chown them to the user warden runs as\)/);
      expect(doctor.stdout).toMatch(/^ok\s+data dir\s+.* is a writable directory$/m);
      expect(doctor.stderr).toMatch(/^warden: doctor: database: .*warden\.db is not writable/m);
      // Doctor wrote nothing: the files warden keeps are as root left them.
      expect(snapshot().filter((f) => !/^warden\.db-(wal|shm) /.test(f))).toEqual(before);

      // Root can write them (access() always says so for root): its doctor finds nothing to name.
      const asRoot = warden(['doctor', '--timeout', '1'], env, dir);
      expect(asRoot.stdout, asRoot.stdout).toMatch(/^ok\s+database\s+.*warden\.db: quick_check ok, schema version \d+$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A key pair made by ssh-keygen in `dir`; returns the private key's path. */
function keyPair(dir: string, name: string): string {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path], { stdio: 'pipe' });
  return path;
}

describe('warden doctor on a broken setup', () => {
  it('names the unreadable keys, the unpinned host, the wrong socket and the unwritable data dir, and exits 1', () => {
    const dir = tempDir('doctor-broken');
    writeFileSync(join(dir, 'data'), 'a file where the data dir should be\n');
    writeFileSync(join(dir, 'not-a-key'), 'hello\n');
    mkdirSync(join(dir, 'key-dir'));
    const good = keyPair(dir, 'good_ed25519');
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:2200 ${readFileSync(`${good}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    const login = (key: string, extra = '') => `{ address: 127.0.0.1, port: 2201, user: root, keyPath: ${key}${extra} }`;
    const inv = writeInventory({
      'hosts.yaml': `hosts:\n  - name: missing\n    ssh: ${login(join(dir, 'no-such-key'))}\n  - name: text\n    ssh: ${login(join(dir, 'not-a-key'))}\n`
        + `  - name: folder\n    ssh: ${login(join(dir, 'key-dir'))}\n  - name: unpinned\n    ssh: ${login(good, `, knownHostsPath: ${join(dir, 'known_hosts')}`)}\n`,
    });
    writeFileSync(join(dir, 'warden.yaml'), `dataDir: ./data\ninventory: ${inv}\n`);
    const r = warden(['doctor', '--timeout', '2'], { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` }, dir);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+data dir\s+.*\/data is not a directory$/m);
    expect(r.stdout).toMatch(/^FAIL\s+docker local\s+unix:\/\/.*\/no-docker\.sock: Docker on host local is unreachable \(ENOENT\)/m);
    expect(r.stdout).toMatch(/^FAIL\s+ssh missing\s+key file .*\/no-such-key does not exist$/m);
    expect(r.stdout).toMatch(/^FAIL\s+ssh text\s+key file .*\/not-a-key is not a usable private key: /m);
    expect(r.stdout).toMatch(/^FAIL\s+ssh folder\s+key file .*\/key-dir is a directory$/m);
    expect(r.stdout).toMatch(/^FAIL\s+ssh unpinned\s+known_hosts file .*\/known_hosts pins no key for \[127\.0\.0\.1\]:2201: warden refuses to connect$/m);
    expect(r.stdout).toMatch(/^warn\s+inventory\s+none loaded \(no database to read\): checking the 4 hosts and 0 services in /m);
    expect(r.stderr).toMatch(/^warden: doctor: data dir: .*; docker local: .*; ssh missing: .*; ssh text: .*; ssh folder: .*; ssh unpinned: /m);
    expect(readFileSync(join(dir, 'data'), 'utf8')).toBe('a file where the data dir should be\n');
  });

  it('a config file it refuses is a FAIL naming the key, and the other checks still run', () => {
    const dir = tempDir('doctor-config');
    writeFileSync(join(dir, 'warden.yaml'), 'loop:\n  enabeld: false\n');
    const r = warden(['doctor', '--timeout', '2'], { ...dataDirEnv(dir), DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` }, dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+config\s+config .*warden\.yaml: unknown key "loop\.enabeld"; did you mean "enabled"\? \(the checks below use the defaults and the environment\)$/m);
    expect(r.stdout).toMatch(/^ok\s+disk\s+/m);
    expect(r.stdout).toMatch(/^warn\s+data dir\s+.*\/data does not exist yet/m);
  });
});

describe('warden doctor with a real sshd and dockerd', () => {
  let sshd: Sshd;
  let dockerd: Dockerd;
  let listener: Server;
  let received = 0;

  beforeAll(async () => {
    [sshd, dockerd] = await Promise.all([startSshd(), startDockerd()]);
    listener = createServer((socket) => socket.on('data', (b: Buffer) => { received += b.length; }));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    listener?.close();
    await Promise.all([sshd?.stop(), dockerd?.stop()]);
  });

  it('passes with Docker local and over SSH, the SSH login, the model and a webhook reachable, and sends nothing', async () => {
    const dir = tempDir('doctor-good');
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    const inv = writeInventory({
      'inv.yaml': `hosts:\n  - name: box\n    docker: ssh://${dockerd.socketPath}\n    ssh: { address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, keyPath: ${sshd.privateKeyPath}, knownHostsPath: ${knownHosts} }\n`
        + 'services:\n  - name: web\n    host: box\n    container: web\n',
    });
    const port = (listener.address() as { port: number }).port;
    writeFileSync(join(dir, 'warden.yaml'), `notify:\n  webhooks:\n    - { url: "http://127.0.0.1:${port}/hook/SECRET", format: slack }\n`);
    const env = { ...dataDirEnv(dir), DOCKER_HOST: dockerd.dockerHost, ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}` };
    expect(warden(['inventory', 'load', inv], env, dir).status).toBe(0);
    const r = warden(['doctor'], env, dir);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').slice(1, -1);
    expect(lines.shift()).toMatch(/^RESULT\s+CHECK\s+DETAIL$/);
    expect(lines.filter((l) => !/^(ok|warn) /.test(l))).toEqual([]);
    for (const name of ['config', 'data dir', 'data modes', 'database', 'policy', 'inventory', 'docker local', 'docker box', 'ssh box', 'model', 'webhook 0', 'safe mode', 'breakers']) {
      expect(r.stdout).toMatch(new RegExp(`^ok\\s+${name}\\s`, 'm'));
    }
    expect(r.stdout).toMatch(/^ok\s+ssh box\s+root@\[127\.0\.0\.1\]:\d+ logged in; host key pinned \(1 in /m);
    expect(r.stdout).toMatch(/^ok\s+webhook 0\s+http:\/\/127\.0\.0\.1:\d+ accepts connections \(.* ms\); slack$/m);
    expect(r.stdout).not.toMatch(/SECRET/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toBe(0);
    const audit = JSON.parse(warden(['audit', 'list', '--json'], env, dir).stdout) as Array<{ tool: string }>;
    expect(audit.map((e) => e.tool)).toEqual(['inventory.load']);
  });

  it('names a login sshd refuses and a host key that is not the pinned one', () => {
    const dir = tempDir('doctor-ssh');
    const stranger = keyPair(dir, 'stranger_ed25519');
    const pinned = join(dir, 'known_hosts');
    writeFileSync(pinned, `${sshd.knownHostsLine}\n`);
    const wrongPin = join(dir, 'wrong_known_hosts');
    writeFileSync(wrongPin, `[127.0.0.1]:${sshd.port} ${readFileSync(`${stranger}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    const login = (key: string, knownHosts: string) => `{ address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, keyPath: ${key}, knownHostsPath: ${knownHosts} }`;
    const inv = writeInventory({ 'inv.yaml': `hosts:\n  - name: refused\n    ssh: ${login(stranger, pinned)}\n  - name: impostor\n    ssh: ${login(sshd.privateKeyPath, wrongPin)}\n` });
    writeFileSync(join(dir, 'warden.yaml'), `inventory: ${inv}\n`);
    const r = warden(['doctor'], { ...dataDirEnv(dir), DOCKER_HOST: dockerd.dockerHost }, dir);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^FAIL\s+ssh refused\s+SSH to host refused during connect: the login was refused \(authentication failed for the configured key\)/m);
    expect(r.stdout).toMatch(/^FAIL\s+ssh impostor\s+SSH to host impostor during connect: the host key does not match known_hosts/m);
  });
});
