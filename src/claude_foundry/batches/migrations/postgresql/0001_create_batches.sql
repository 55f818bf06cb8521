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
    request_count       BIGINT NOT NULL,
    created_at          DOUBLE PRECISION NOT NULL,
    expires_at          DOUBLE PRECISION NOT NULL,
    ended_at            DOUBLE PRECISION,
    cancel_initiated_at DOUBLE PRECISION,
    results_url         TEXT
);
CREATE INDEX IF NOT EXISTS cf_batches_label ON cf_batches (label);
CREATE TABLE IF NOT EXISTS cf_batch_requests (
    batch_id      TEXT NOT NULL REFERENCES cf_batches (id),
    custom_id     TEXT NOT NULL,
    line          BIGINT NOT NULL,
    params        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    claims        BIGINT NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_expires DOUBLE PRECISION,
    result        TEXT,
    finished_at   DOUBLE PRECISION,
    exported      BIGINT,  -- NULL until finished, then 0; 1 once in the results file
    PRIMARY KEY (batch_id, custom_id)
);
CREATE INDEX IF NOT EXISTS cf_batch_requests_queue ON cf_batch_requests (batch_id, state, line);
CREATE INDEX IF NOT EXISTS cf_batch_requests_unexported
    ON cf_batch_requests (batch_id, exported, finished_at);
CREATE TABLE IF NOT EXISTS cf_batch_workers (
    id           TEXT PRIMARY KEY,
    batch_id     TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL
);
