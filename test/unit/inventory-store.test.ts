import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ToolFailure } from '../../src/errors.js';
import { AuditLog } from '../../src/store/audit.js';
import { openDb, type Db } from '../../src/store/db.js';
import { readInventoryDir, toHostSpec, type Inventory } from '../../src/store/inventory-file.js';
import { InventoryStore } from '../../src/store/inventory.js';
import { EXAMPLE_INVENTORY } from '../support/inventory.js';
import { tempDir } from '../support/processes.js';

const open: Array<{ db: Db; store: InventoryStore }> = [];
afterEach(() => {
  for (const { db, store } of open.splice(0)) {
    store.close();
    db.close();
  }
});

/** A real database file with the example inventory loaded and one audit entry written. */
function setup(): { db: Db; store: InventoryStore } {
  const dir = tempDir('inventory-store');
  const db = openDb(join(dir, 'data'));
  const store = new InventoryStore(db);
  store.load(readInventoryDir(EXAMPLE_INVENTORY));
  new AuditLog(db, join(dir, 'data', 'head')).append({ callId: 'c1', principal: 'local', transport: 'cli', tool: 'restart_container', args: { secret: 's3cret' }, argsHash: 'h', phase: 'requested' });
  const x = { db, store };
  open.push(x);
  return x;
}

const caps = { maxRows: 100, timeoutMs: 2_000 };

function refusal(store: InventoryStore, sql: string, params: (string | number | null)[] = []): ToolFailure {
  try {
    store.querySync(sql, params, caps);
  } catch (err) {
    expect(err).toBeInstanceOf(ToolFailure);
    return err as ToolFailure;
  }
  throw new Error(`the query ran: ${sql}`);
}

describe('query_inventory refuses anything but one SELECT over the inventory', () => {
  it.each([
    ['DELETE FROM services', /only SELECT or WITH/],
    ["UPDATE services SET tier = 'batch'", /only SELECT or WITH/],
    ["INSERT INTO hosts (name, labels, source) VALUES ('x', '{}', 'x')", /only SELECT or WITH/],
    ['/* a comment */ -- another\n DELETE FROM services', /only SELECT or WITH/],
    ["WITH x AS (SELECT 1) DELETE FROM services WHERE name = 'db'", /does not return rows/],
    ['SELECT 1; DELETE FROM services', /one statement only/],
    ["ATTACH DATABASE ':memory:' AS other", /only SELECT or WITH/],
    ['PRAGMA user_version', /only SELECT or WITH/],
    ['PRAGMA user_version = 99', /only SELECT or WITH/],
    ["SELECT * FROM pragma_table_info('audit')", /pragma functions are not available/],
    ["SELECT load_extension('/tmp/evil.so')", /load_extension\(\) is not available/],
    ['VACUUM INTO \'/tmp/copy.db\'', /only SELECT or WITH/],
  ])('%s', (sql, message) => {
    const { store } = setup();
    expect(refusal(store, sql)).toMatchObject({ kind: 'invalid_input', message: expect.stringMatching(message) });
    expect(store.services()).toHaveLength(5);
  });

  it.each([
    ['SELECT * FROM audit', /reads "audit"/],
    ['SELECT count(*) FROM audit', /reads "audit"/],
    ['SELECT args FROM audit WHERE tool = ?', /reads "audit"/],
    ['SELECT * FROM approvals', /reads "approvals"/],
    ['WITH a AS (SELECT args FROM audit) SELECT * FROM a', /reads "audit"/],
    ['SELECT name FROM services WHERE name IN (SELECT tool FROM audit)', /reads "audit"/],
    ['SELECT name FROM services UNION ALL SELECT tool FROM audit LIMIT 0', /reads "audit"/],
    ['SELECT sql FROM sqlite_master', /reads the schema/],
    ["SELECT * FROM incidents_fts WHERE incidents_fts MATCH 'x'", /virtual tables/],
    ['SELECT * FROM incidents_fts_data', /reads "incidents_fts_data"/],
    ['SELECT * FROM dbstat', /virtual tables/],
  ])('a read of another table: %s', (sql, message) => {
    const { store } = setup();
    expect(refusal(store, sql, sql.includes('?') ? ['restart_container'] : []).message).toMatch(message);
  });

  it('names the queryable tables when it refuses one', () => {
    const { store } = setup();
    expect(refusal(store, 'SELECT * FROM audit').message).toMatch(/it may read only hosts, services, runbooks, discovered_containers, incidents/);
  });

  it('turns an SQL error into invalid_input with SQLite\'s words', () => {
    const { store } = setup();
    expect(refusal(store, 'SELECT nope FROM services')).toMatchObject({ kind: 'invalid_input', message: 'SQL error: no such column: nope' });
  });
});

describe('query_inventory answers SELECTs', () => {
  it('a SELECT with a bound parameter', () => {
    const { store } = setup();
    const r = store.querySync('SELECT name, owner FROM services WHERE tier = ? ORDER BY name', ['critical'], caps);
    expect(r).toEqual({ columns: ['name', 'owner'], rows: [['db', 'data-team'], ['lb', 'platform-team']], truncated: false, truncatedBy: undefined });
  });

  it('a parameter is a value, never SQL', () => {
    const { store } = setup();
    expect(store.querySync('SELECT name FROM services WHERE name = ?', ["x' OR 1=1 --"], caps).rows).toEqual([]);
  });

  it('WITH ... SELECT, json_each over a JSON column, and a join of services and hosts', () => {
    const { store } = setup();
    const r = store.querySync(
      `WITH deps AS (SELECT s.name, d.value AS needs FROM services s, json_each(s.depends_on) d)
       SELECT deps.name, h.name FROM deps JOIN services s ON s.name = deps.needs LEFT JOIN hosts h ON h.name = s.host ORDER BY 1`, [], caps);
    expect(r.rows).toEqual([['lb', 'local'], ['lb', 'local'], ['web-1', 'local'], ['web-2', 'local']]);
  });

  it('json_extract on labels, and incidents are readable', () => {
    const { store } = setup();
    expect(store.querySync("SELECT name FROM services WHERE json_extract(labels, '$.gpu') = 'true'", [], caps).rows).toEqual([['trainer']]);
    expect(store.querySync('SELECT count(*) FROM incidents', [], caps).rows).toEqual([[0]]);
  });

  it('stops at the row cap and says so', () => {
    const { store } = setup();
    const series = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT i FROM n';
    const capped = store.querySync(series, [], { maxRows: 100, timeoutMs: 2_000 });
    expect(capped.rows).toHaveLength(100);
    expect(capped).toMatchObject({ truncated: true, truncatedBy: 'rows' });
    expect(store.querySync(series, [], { maxRows: 500, timeoutMs: 2_000 })).toMatchObject({ truncated: false });
  });

  it('stops at the time cap between rows and says so', () => {
    const { store } = setup();
    // Each row counts to 300k first: a few milliseconds per row, far more than 30 ms for 1000 rows.
    const slow = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
      SELECT i, (WITH RECURSIVE m(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM m WHERE j < 300000) SELECT count(*) FROM m) FROM n`;
    const r = store.querySync(slow, [], { maxRows: 1000, timeoutMs: 30 });
    expect(r).toMatchObject({ truncated: true, truncatedBy: 'time' });
    expect(r.rows.length).toBeLessThan(1000);
  });

  it('refuses a missing parameter value with a clear message', () => {
    const { store } = setup();
    expect(refusal(store, 'SELECT name FROM services WHERE tier = ?').message).toMatch(/SQL error: .*parameter/i);
  });
});

describe('loading and resolving', () => {
  it('a load that fails half-way leaves the previous inventory whole', () => {
    const { store } = setup();
    const good = readInventoryDir(EXAMPLE_INVENTORY);
    // Bypasses validation on purpose: the second insert of "db" violates the primary key.
    const broken: Inventory = { ...good, hosts: [], services: [...good.services, good.services[3]!] };
    expect(() => store.load(broken)).toThrow(/UNIQUE/);
    expect(store.services()).toHaveLength(5);
    expect(store.hostSpecs().map((h) => h.name)).toEqual(['gpu-worker', 'local']);
  });

  it('hosts come back from the database as the same HostSpec the files describe', () => {
    const { store } = setup();
    const inv = readInventoryDir(EXAMPLE_INVENTORY);
    expect(store.hostSpecs()).toEqual(inv.hosts.map(toHostSpec).sort((a, b) => a.name.localeCompare(b.name)));
    expect(store.hosts().find((h) => h.name === 'gpu-worker')).toMatchObject({ docker: 'ssh', ssh: { address: '127.0.0.1', port: 2222, user: 'warden' }, labels: { gpu: 'nvidia' } });
  });

  it.each([
    ['local/db', { service: 'db', tier: 'critical', owner: 'data-team', labels: { app: 'shop', role: 'database' } }],
    ['local//web-1', { service: 'web-1', tier: 'standard', owner: 'web-team' }],
    ['gpu-worker/trainer', { service: 'trainer', tier: 'batch' }],
    ['service:lb', { service: 'lb', tier: 'critical' }],
    ['local/stray', {}],
    ['gpu-worker/db', {}],
    ['local/*', {}],
    ['inventory', {}],
  ])('resolves target %s', (target, info) => {
    const { store } = setup();
    const resolved = store.resolveTarget(target);
    if (Object.keys(info).length === 0) expect(resolved).toEqual({});
    else expect(resolved).toMatchObject(info);
  });

  it('records discovered containers the inventory does not know, keeping first_seen', () => {
    const { store } = setup();
    const found = [{ name: 'db', image: 'postgres', state: 'running' }, { name: 'stray', image: 'busybox', state: 'exited' }];
    expect(store.recordDiscovered('local', found, new Date('2026-01-01T00:00:00Z')).map((d) => d.name)).toEqual(['stray']);
    store.recordDiscovered('local', [{ name: 'stray', image: 'busybox', state: 'running' }], new Date('2026-01-02T00:00:00Z'));
    expect(store.discovered()).toEqual([
      { host: 'local', name: 'stray', image: 'busybox', state: 'running', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-02T00:00:00.000Z' },
    ]);
    expect(store.querySync('SELECT host, name FROM discovered_containers', [], caps).rows).toEqual([['local', 'stray']]);
  });

  it('a load that names a discovered container removes it from discovered_containers', () => {
    const { store } = setup();
    store.recordDiscovered('local', [{ name: 'stray', image: 'busybox', state: 'running' }]);
    const inv = readInventoryDir(EXAMPLE_INVENTORY);
    store.load({ ...inv, services: [...inv.services, { ...inv.services[1]!, name: 'stray', container: 'stray' }] });
    expect(store.discovered()).toEqual([]);
  });
});
