// The schema, one entry per version. Never edit a shipped entry: append a new one.
export const MIGRATIONS: readonly string[] = [
  // 1: the audit chain, append-only by trigger; approvals.
  `
  CREATE TABLE audit (
    seq          INTEGER PRIMARY KEY,
    time         TEXT    NOT NULL,
    call_id      TEXT    NOT NULL,
    principal    TEXT    NOT NULL,
    transport    TEXT    NOT NULL,
    tool         TEXT    NOT NULL,
    target       TEXT,
    args         TEXT    NOT NULL,
    args_hash    TEXT    NOT NULL,
    risk         TEXT,
    decision     TEXT,
    rule         TEXT,
    approval_id  TEXT,
    phase        TEXT    NOT NULL,
    dry_run      INTEGER NOT NULL DEFAULT 0,
    result       TEXT,
    error_kind   TEXT,
    duration_ms  INTEGER,
    incident_id  TEXT,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
  );
  CREATE INDEX audit_tool_time ON audit (tool, time);
  CREATE INDEX audit_call ON audit (call_id);
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;

  CREATE TABLE approvals (
    id              TEXT PRIMARY KEY,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    principal       TEXT NOT NULL,
    tool            TEXT NOT NULL,
    target          TEXT,
    args            TEXT NOT NULL,
    args_hash       TEXT NOT NULL,
    risk            TEXT NOT NULL,
    rule            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'used')),
    decided_by      TEXT,
    decided_at      TEXT,
    decision_reason TEXT,
    used_at         TEXT,
    incident_id     TEXT
  );
  CREATE INDEX approvals_status ON approvals (status, expires_at);
  `,
  // 2: incidents, with full-text search over what happened and how it was resolved.
  `
  CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    closed_at   TEXT,
    status      TEXT NOT NULL,
    source      TEXT NOT NULL,
    target      TEXT,
    severity    TEXT,
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL DEFAULT '',
    resolution  TEXT
  );
  CREATE INDEX incidents_fingerprint ON incidents (fingerprint, status);
  CREATE INDEX incidents_target ON incidents (target, status);
  CREATE VIRTUAL TABLE incidents_fts USING fts5 (title, summary, resolution, target, content = 'incidents', content_rowid = 'rowid');
  CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN
    INSERT INTO incidents_fts (rowid, title, summary, resolution, target) VALUES (new.rowid, new.title, new.summary, new.resolution, new.target);
  END;
  CREATE TRIGGER incidents_fts_update AFTER UPDATE ON incidents BEGIN
    INSERT INTO incidents_fts (incidents_fts, rowid, title, summary, resolution, target) VALUES ('delete', old.rowid, old.title, old.summary, old.resolution, old.target);
    INSERT INTO incidents_fts (rowid, title, summary, resolution, target) VALUES (new.rowid, new.title, new.summary, new.resolution, new.target);
  END;
  CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN
    INSERT INTO incidents_fts (incidents_fts, rowid, title, summary, resolution, target) VALUES ('delete', old.rowid, old.title, old.summary, old.resolution, old.target);
  END;
  `,
  // 3: the inventory as loaded from YAML (lists and maps as JSON text), and containers found on
  // the hosts that the inventory does not know yet.
  `
  CREATE TABLE hosts (
    name        TEXT PRIMARY KEY,
    address     TEXT,
    docker      TEXT,
    docker_tls  TEXT,
    ssh         TEXT,
    nvidia_smi_path TEXT,
    nginx_path  TEXT,
    labels      TEXT NOT NULL DEFAULT '{}',
    notes       TEXT,
    source      TEXT NOT NULL
  );
  CREATE TABLE services (
    name         TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    container    TEXT,
    owner        TEXT,
    tier         TEXT NOT NULL,
    labels       TEXT NOT NULL DEFAULT '{}',
    depends_on   TEXT NOT NULL DEFAULT '[]',
    health_check TEXT,
    runbooks     TEXT NOT NULL DEFAULT '[]',
    notes        TEXT,
    nginx        TEXT,
    source       TEXT NOT NULL
  );
  CREATE UNIQUE INDEX services_host_container ON services (host, container) WHERE container IS NOT NULL;
  CREATE TABLE runbooks (
    name            TEXT PRIMARY KEY,
    description     TEXT NOT NULL,
    hosts           TEXT NOT NULL,
    argv            TEXT NOT NULL,
    params          TEXT NOT NULL,
    risk            TEXT NOT NULL,
    timeout_seconds INTEGER NOT NULL,
    source          TEXT NOT NULL
  );
  CREATE TABLE discovered_containers (
    host       TEXT NOT NULL,
    name       TEXT NOT NULL,
    image      TEXT NOT NULL,
    state      TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (host, name)
  );
  `,
  // 4: bearer tokens for the HTTP gateway; only a SHA-256 of each token is stored.
  `
  CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('readonly', 'operator', 'admin', 'alerts')),
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
  );
  `,
  // 5: limits count only calls that ran; partial indexes keep those counts off the rest of the table.
  `
  CREATE INDEX audit_ran_target ON audit (tool, target, time) WHERE phase IN ('completed', 'failed') AND dry_run = 0;
  CREATE INDEX audit_ran_principal ON audit (tool, principal, time) WHERE phase IN ('completed', 'failed') AND dry_run = 0;
  `,
];
