-- The batch store's tables as the first release with numbered migrations found them: a store
-- created before then (stamped 1 in cf_batch_schema) is recorded as at this version unchanged.
-- cf_batch_schema is the single version stamp older releases read: the store keeps it at its
-- newest version, so an older release refuses a store it cannot read instead of misreading it.
CREATE TABLE IF NOT EXISTS cf_batch_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cf_batches (
    id                  TEXT PRIMARY KEY,
    label               TEXT,
    input_sha256        TEXT NOT NULL,
    processing_status   TEXT NOT NULL DEFAULT 'in_progress',
    request_count       INTEGER NOT NULL,
    created_at          REAL NOT NULL,
    expires_at          REAL NOT NULL,
    ended_at            REAL,
    cancel_initiated_at REAL,
    results_url         TEXT
);
CREATE INDEX IF NOT EXISTS cf_batches_label ON cf_batches (label);
CREATE TABLE IF NOT EXISTS cf_batch_requests (
    batch_id      TEXT NOT NULL REFERENCES cf_batches (id),
    custom_id     TEXT NOT NULL,
    line          INTEGER NOT NULL,
    params        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    claims        INTEGER NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_expires REAL,
    result        TEXT,
    finished_at   REAL,
    exported      INTEGER,  -- NULL until finished, then 0; 1 once in the results file
    PRIMARY KEY (batch_id, custom_id)
);
CREATE INDEX IF NOT EXISTS cf_batch_requests_queue ON cf_batch_requests (batch_id, state, line);
CREATE INDEX IF NOT EXISTS cf_batch_requests_unexported
    ON cf_batch_requests (batch_id, exported, finished_at);
CREATE TABLE IF NOT EXISTS cf_batch_workers (
    id           TEXT PRIMARY KEY,
    batch_id     TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    started_at   REAL NOT NULL,
    heartbeat_at REAL NOT NULL
);
