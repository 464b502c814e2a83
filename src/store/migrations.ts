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
  // 6: the loop's incidents: where, how often, what they wait on; their timeline; every alert payload
  // as posted (accepted or not); model calls for the daily budget. The FTS update trigger now fires
  // only when an indexed column changes, so counting a storm's alerts does not re-index each time.
  `
  ALTER TABLE incidents ADD COLUMN host TEXT;
  ALTER TABLE incidents ADD COLUMN container TEXT;
  ALTER TABLE incidents ADD COLUMN service TEXT;
  ALTER TABLE incidents ADD COLUMN alert_count INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE incidents ADD COLUMN last_alert_at TEXT;
  ALTER TABLE incidents ADD COLUMN parent_id TEXT;
  ALTER TABLE incidents ADD COLUMN waiting_on TEXT;
  ALTER TABLE incidents ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE incidents ADD COLUMN flaps INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX incidents_fingerprint_closed ON incidents (fingerprint, closed_at);
  CREATE INDEX incidents_status ON incidents (status, opened_at);
  CREATE INDEX incidents_parent ON incidents (parent_id) WHERE parent_id IS NOT NULL;
  DROP TRIGGER incidents_fts_update;
  CREATE TRIGGER incidents_fts_update AFTER UPDATE OF title, summary, resolution, target ON incidents BEGIN
    INSERT INTO incidents_fts (incidents_fts, rowid, title, summary, resolution, target) VALUES ('delete', old.rowid, old.title, old.summary, old.resolution, old.target);
    INSERT INTO incidents_fts (rowid, title, summary, resolution, target) VALUES (new.rowid, new.title, new.summary, new.resolution, new.target);
  END;

  CREATE TABLE incident_events (
    id          INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    time        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    summary     TEXT NOT NULL,
    data        TEXT
  );
  CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

  CREATE TABLE alert_payloads (
    id           INTEGER PRIMARY KEY,
    received_at  TEXT NOT NULL,
    source       TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('accepted', 'ignored', 'rejected')),
    reason       TEXT,
    body         TEXT NOT NULL CHECK (length(CAST(body AS BLOB)) <= 65536),
    incident_ids TEXT NOT NULL DEFAULT '[]'
  );
  CREATE INDEX alert_payloads_received ON alert_payloads (received_at);

  CREATE TABLE model_calls (
    id            INTEGER PRIMARY KEY,
    incident_id   TEXT,
    time          TEXT NOT NULL,
    model         TEXT NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    latency_ms    INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    outcome       TEXT NOT NULL
  );
  CREATE INDEX model_calls_time ON model_calls (time);
  `,
  // 7: the loop reads what it already did on an incident from the audit (restart safety) on every run.
  `
  CREATE INDEX audit_incident ON audit (incident_id, seq) WHERE incident_id IS NOT NULL;
  `,
  // 8: no query reads audit by (tool, time) since limits count on the partial indexes of 5;
  // every append paid for keeping it.
  `
  DROP INDEX audit_tool_time;
  `,
  // 9: the full ID of what a call touched (a container), beside its canonical target name.
  `
  ALTER TABLE audit ADD COLUMN target_id TEXT;
  `,
  // 10: the kill switch every process reads at each call (warden killswitch on|off).
  `
  CREATE TABLE kill_switch (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    on_     INTEGER NOT NULL,
    reason  TEXT,
    by_     TEXT NOT NULL,
    at      TEXT NOT NULL
  );
  `,
  // 11: limits count calls from their 'requested' entry (running ones too), not their outcome.
  `
  CREATE INDEX audit_started_target ON audit (tool, target, time) WHERE phase = 'requested' AND dry_run = 0;
  CREATE INDEX audit_started_principal ON audit (tool, principal, time) WHERE phase = 'requested' AND dry_run = 0;
  DROP INDEX audit_ran_target;
  DROP INDEX audit_ran_principal;
  `,
  // 12: silences (warden silence add|remove): alerts matching an active one are recorded, not acted on.
  `
  CREATE TABLE silences (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    matchers    TEXT NOT NULL CHECK (json_valid(matchers) AND json_array_length(matchers) > 0),
    removed_at  TEXT,
    removed_by  TEXT,
    CHECK (ends_at > starts_at)
  );
  CREATE INDEX silences_live ON silences (ends_at) WHERE removed_at IS NULL;
  `,
  // 13: a service's bounds for update_container_resources, and the changes table: each
  // configuration change with its before and after state (content-addressed files under the data
  // dir), what validated and verified it, and whether it was rolled back.
  `
  ALTER TABLE services ADD COLUMN resources TEXT;
  CREATE TABLE changes (
    id            TEXT PRIMARY KEY,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    call_id       TEXT NOT NULL,
    principal     TEXT NOT NULL,
    incident_id   TEXT,
    target        TEXT NOT NULL,
    service       TEXT,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('applying', 'verifying', 'verified', 'rejected', 'rolling_back', 'rolled_back', 'rollback_failed')),
    summary       TEXT NOT NULL,
    before_ref    TEXT NOT NULL,
    after_ref     TEXT,
    plan          TEXT NOT NULL CHECK (json_valid(plan)),
    validation    TEXT,
    verification  TEXT,
    rollback      TEXT,
    owner         TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 0,
    calls         TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(calls)),
    recovery      TEXT CHECK (recovery IS NULL OR json_valid(recovery))
  );
  CREATE INDEX changes_created ON changes (created_at);
  CREATE INDEX changes_open ON changes (target) WHERE status IN ('applying', 'verifying', 'rolling_back');
  `,
  // 14: warden's own monitors: a service's probe schedule, a host's thresholds, its cleanup places and
  // reboot command (JSON, as loaded), and the last state of each monitor as the daemon saw it, so
  // `warden monitors status` can read it from another process.
  `
  ALTER TABLE services ADD COLUMN monitor TEXT;
  ALTER TABLE hosts ADD COLUMN monitor TEXT;
  ALTER TABLE hosts ADD COLUMN cleanup TEXT;
  ALTER TABLE hosts ADD COLUMN reboot TEXT;
  CREATE TABLE monitor_state (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('probe', 'tls', 'threshold')),
    subject     TEXT NOT NULL,
    state       TEXT NOT NULL,
    since       TEXT NOT NULL,
    checked_at  TEXT,
    value       REAL,
    detail      TEXT NOT NULL,
    updated_by  TEXT NOT NULL
  );
  `,
  // 15: the loop watching itself: the outcome of each of its writes (safe mode reads the recent
  // ones), safe mode as every process sees it, the last state of each circuit breaker and each of
  // warden's own watches (heartbeat, watchdog, retention), for `warden status` from another process.
  `
  CREATE TABLE loop_outcomes (
    id          INTEGER PRIMARY KEY,
    time        TEXT    NOT NULL,
    incident_id TEXT,
    tool        TEXT    NOT NULL,
    target      TEXT,
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    stage       TEXT    NOT NULL CHECK (stage IN ('write', 'verify')),
    detail      TEXT    NOT NULL
  );
  CREATE INDEX loop_outcomes_time ON loop_outcomes (time);
  CREATE TABLE loop_safe_mode (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    on_       INTEGER NOT NULL CHECK (on_ IN (0, 1)),
    reason    TEXT    NOT NULL,
    evidence  TEXT    CHECK (evidence IS NULL OR json_valid(evidence)),
    by_       TEXT    NOT NULL,
    at        TEXT    NOT NULL
  );
  CREATE TABLE breaker_state (
    name        TEXT PRIMARY KEY,
    state       TEXT    NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
    since       TEXT    NOT NULL,
    failures    INTEGER NOT NULL,
    last_error  TEXT,
    retry_at    TEXT,
    updated_by  TEXT    NOT NULL
  );
  CREATE TABLE watch_state (
    name        TEXT PRIMARY KEY,
    at          TEXT    NOT NULL,
    ok          INTEGER NOT NULL CHECK (ok IN (0, 1)),
    detail      TEXT    NOT NULL,
    updated_by  TEXT    NOT NULL
  );
  `,
  // 16: the notification outbox: one row per notification and webhook, written before delivery is
  // tried, so a webhook that is down loses nothing and a restart resumes delivery in order.
  `
  CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    key           TEXT    NOT NULL UNIQUE,
    created_at    TEXT    NOT NULL,
    hook          TEXT    NOT NULL,
    event         TEXT    NOT NULL,
    body          TEXT    NOT NULL CHECK (json_valid(body)),
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       TEXT    NOT NULL,
    last_error    TEXT,
    delivered_at  TEXT
  );
  CREATE INDEX outbox_pending ON outbox (hook, id) WHERE status = 'pending';
  CREATE INDEX outbox_created ON outbox (created_at);
  `,
  // 17: audit archive segments. Entries leave the live table only once a recorded segment holds
  // them: the delete trigger is replaced by one that refuses any entry no segment covers.
  `
  CREATE TABLE audit_archives (
    id               INTEGER PRIMARY KEY,
    created_at       TEXT    NOT NULL,
    file             TEXT    NOT NULL UNIQUE,
    first_seq        INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL,
    entries          INTEGER NOT NULL,
    first_prev_hash  TEXT    NOT NULL,
    last_hash        TEXT    NOT NULL,
    sha256           TEXT    NOT NULL,
    signature        TEXT,
    CHECK (last_seq >= first_seq)
  );
  CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
    BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END;
  CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
    BEGIN SELECT RAISE(ABORT, 'audit archives are append-only'); END;
  DROP TRIGGER audit_no_delete;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    WHEN NOT EXISTS (SELECT 1 FROM audit_archives a WHERE old.seq BETWEEN a.first_seq AND a.last_seq)
    BEGIN SELECT RAISE(ABORT, 'audit is append-only: only entries held by an archive segment may leave the table'); END;
  `,
  // 18: a person's stop of a container, kept apart from the audit so archiving the audit never loses
  // it: the loop's operator-stopped hold reads it. Kept by triggers on the audit itself (a completed,
  // executed stop_container by anyone but the loop sets it; a completed start, restart or recreate of
  // that target ends it), and filled once from the audit as it stands.
  `
  CREATE TABLE stop_intents (
    target     TEXT PRIMARY KEY,
    principal  TEXT NOT NULL,
    time       TEXT NOT NULL,
    call_id    TEXT NOT NULL
  );
  CREATE TRIGGER audit_stop_intent AFTER INSERT ON audit
    WHEN new.phase = 'completed' AND new.dry_run = 0 AND new.tool = 'stop_container' AND new.principal != 'loop' AND new.target IS NOT NULL
    BEGIN
      INSERT INTO stop_intents (target, principal, time, call_id) VALUES (new.target, new.principal, new.time, new.call_id)
        ON CONFLICT (target) DO UPDATE SET principal = excluded.principal, time = excluded.time, call_id = excluded.call_id;
    END;
  CREATE TRIGGER audit_start_ends_intent AFTER INSERT ON audit
    WHEN new.phase = 'completed' AND new.dry_run = 0 AND new.tool IN ('start_container', 'restart_container', 'recreate_container') AND new.target IS NOT NULL
    BEGIN DELETE FROM stop_intents WHERE target = new.target; END;
  INSERT OR REPLACE INTO stop_intents (target, principal, time, call_id)
    SELECT c.target, c.principal, c.time, c.call_id FROM audit c
    WHERE c.phase = 'completed' AND c.dry_run = 0 AND c.tool = 'stop_container' AND c.principal != 'loop' AND c.target IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM audit s WHERE s.target = c.target AND s.seq > c.seq AND s.phase = 'completed' AND s.dry_run = 0
        AND s.tool IN ('start_container', 'restart_container', 'recreate_container'))
    ORDER BY c.seq;
  `,
  // 19: a plain read has no 'requested' entry, only one after it ran: limits count that one (audit.ts
  // countExecuted) through these partial indexes, as it counts the 'requested' entries through 11's.
  `
  CREATE INDEX audit_read_once_target ON audit (tool, target, time)
    WHERE risk = 'read' AND phase IN ('completed', 'failed') AND decision IN ('allow', 'notify') AND dry_run = 0;
  CREATE INDEX audit_read_once_principal ON audit (tool, principal, time)
    WHERE risk = 'read' AND phase IN ('completed', 'failed') AND decision IN ('allow', 'notify') AND dry_run = 0;
  `,
  // 20: several tokens per principal (rotation overlaps the old and the new), so tokens.name is no
  // longer UNIQUE: the table is rebuilt with every row, id and hash kept. AUTOINCREMENT: a token id
  // (sessions are bound to it, token audit entries name it) is never given to another token.
  `
  CREATE TABLE tokens_v20 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('readonly', 'operator', 'admin', 'alerts')),
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
  );
  INSERT INTO tokens_v20 (id, name, role, hash, created_at, expires_at, revoked_at, last_used_at)
    SELECT id, name, role, hash, created_at, expires_at, revoked_at, last_used_at FROM tokens;
  DROP TABLE tokens;
  ALTER TABLE tokens_v20 RENAME TO tokens;
  CREATE INDEX tokens_name ON tokens (name);
  `,
  // 21: the W3C traceparent a client sent with a call (validated, 55 characters), on each of its
  // entries: NULL for calls without one and for every entry before it.
  `
  ALTER TABLE audit ADD COLUMN traceparent TEXT;
  `,
  // 22: Slack interaction requests already taken, by signature (64 hex), with the timestamp Slack
  // signed (seconds): a replay within Slack's 5-minute window is refused, across restarts too. Rows
  // whose timestamp has left the window are pruned; a request that old is refused by its timestamp.
  `
  CREATE TABLE slack_requests (
    signature  TEXT    PRIMARY KEY,
    signed_at  INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX slack_requests_signed_at ON slack_requests (signed_at);
  `,
  // 23: the console's lists read a page through an index instead of sorting a whole table: incidents
  // newest first (all, or of one service); an incident's model calls and changes; and the approvals
  // by the moment they left pending (decided, or expired undecided), as "Recent decisions" orders them.
  `
  CREATE INDEX IF NOT EXISTS incidents_opened ON incidents (opened_at);
  CREATE INDEX IF NOT EXISTS incidents_service ON incidents (service, opened_at);
  CREATE INDEX IF NOT EXISTS model_calls_incident ON model_calls (incident_id, time);
  CREATE INDEX IF NOT EXISTS changes_incident ON changes (incident_id, created_at);
  CREATE INDEX IF NOT EXISTS approvals_settled ON approvals (coalesce(decided_at, expires_at));
  `,
  // 24: a person's confirmation that a resolved incident's fix was right (validated fixes):
  // search_incidents boosts these. One standing validation per incident, as columns; each
  // validation and withdrawal is an audit entry (incident.validate, incident.unvalidate), which is
  // the history. The three are set together or cleared together.
  `
  ALTER TABLE incidents ADD COLUMN validated_by TEXT;
  ALTER TABLE incidents ADD COLUMN validated_at TEXT;
  ALTER TABLE incidents ADD COLUMN validated_note TEXT;
  `,
  // 25: two levels of model. Each model call says which level made it (1: the first-level model
  // behind an OpenAI-compatible API, 2: Claude; every call before this was Claude's). The first
  // level's principal is the loop's too: its stop_container is no person's stop, so 18's triggers
  // are made again leaving out both (no row was written for loop-n1 before this version).
  `
  ALTER TABLE model_calls ADD COLUMN level INTEGER NOT NULL DEFAULT 2 CHECK (level IN (1, 2));
  DROP TRIGGER audit_stop_intent;
  CREATE TRIGGER audit_stop_intent AFTER INSERT ON audit
    WHEN new.phase = 'completed' AND new.dry_run = 0 AND new.tool = 'stop_container' AND new.principal NOT IN ('loop', 'loop-n1') AND new.target IS NOT NULL
    BEGIN
      INSERT INTO stop_intents (target, principal, time, call_id) VALUES (new.target, new.principal, new.time, new.call_id)
        ON CONFLICT (target) DO UPDATE SET principal = excluded.principal, time = excluded.time, call_id = excluded.call_id;
    END;
  `,
];
