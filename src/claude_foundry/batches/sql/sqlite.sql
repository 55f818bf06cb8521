-- The batch store's queries for SQLite. Each query starts with "-- name: NAME"; parameters are
-- :named. State guards come from the tables in _state.py ({pending}, {in_flight}, ...).
-- The tables themselves are made by the numbered files in migrations/sqlite/.

-- name: insert_batch
INSERT INTO cf_batches (id, label, input_sha256, request_count, created_at, expires_at)
VALUES (:id, :label, :input_sha256, :request_count, :created_at, :expires_at);

-- name: insert_request
INSERT INTO cf_batch_requests (batch_id, custom_id, line, params)
VALUES (:batch_id, :custom_id, :line, :params);

-- name: get_batch
SELECT id, label, input_sha256, processing_status, request_count, created_at, expires_at,
       ended_at, cancel_initiated_at, results_url
FROM cf_batches WHERE id = :id;

-- name: find_batch
SELECT id FROM cf_batches WHERE label = :label ORDER BY created_at DESC LIMIT 1;

-- name: list_batches
SELECT id FROM cf_batches ORDER BY created_at DESC, id DESC;

-- name: counts
SELECT state, count(*) FROM cf_batch_requests WHERE batch_id = :batch_id GROUP BY state;

-- name: claim
UPDATE cf_batch_requests
SET state = {in_flight}, lease_owner = :worker, lease_expires = :until, claims = claims + 1
WHERE rowid IN (
    SELECT rowid FROM cf_batch_requests
    WHERE batch_id = :batch_id
      AND state = {pending}
      AND EXISTS (SELECT 1 FROM cf_batches
                  WHERE id = :batch_id AND processing_status = 'in_progress'
                    AND expires_at > :now)
    ORDER BY line
    LIMIT :limit
)
RETURNING custom_id, params;

-- name: renew
UPDATE cf_batch_requests SET lease_expires = :until
WHERE batch_id = :batch_id AND custom_id = :custom_id AND state = {in_flight}
  AND lease_owner = :worker;

-- name: finish
UPDATE cf_batch_requests
SET state = :state, result = :result, finished_at = :now, lease_owner = NULL,
    lease_expires = NULL, exported = 0
WHERE batch_id = :batch_id AND custom_id = :custom_id AND state IN {finish_sources}
  AND lease_owner = :worker;

-- name: release
UPDATE cf_batch_requests SET state = {pending}, lease_owner = NULL, lease_expires = NULL
WHERE batch_id = :batch_id AND custom_id = :custom_id AND state = {in_flight}
  AND lease_owner = :worker;

-- name: release_owner
UPDATE cf_batch_requests SET state = {pending}, lease_owner = NULL, lease_expires = NULL
WHERE batch_id = :batch_id AND state = {in_flight} AND lease_owner = :worker;

-- name: lease_owners
SELECT DISTINCT lease_owner FROM cf_batch_requests
WHERE batch_id = :batch_id AND state = {in_flight};

-- name: mark_batch
UPDATE cf_batches
SET processing_status = :to_status,
    ended_at = CASE WHEN :to_status = 'ended' THEN :now ELSE ended_at END,
    cancel_initiated_at = CASE WHEN :to_status = 'canceling' THEN :now
                               ELSE cancel_initiated_at END
WHERE id = :batch_id AND processing_status IN {from_statuses};

-- name: close_pending
UPDATE cf_batch_requests
SET state = :state, result = :result, finished_at = :now, lease_owner = NULL,
    lease_expires = NULL, exported = 0
WHERE batch_id = :batch_id
  AND (state = {pending} OR (state = {in_flight} AND lease_expires < :now));

-- name: unexported
SELECT custom_id, result FROM cf_batch_requests
WHERE batch_id = :batch_id AND exported = 0
ORDER BY finished_at, line LIMIT :limit;

-- name: mark_exported
UPDATE cf_batch_requests SET exported = 1
WHERE batch_id = :batch_id AND custom_id = :custom_id;

-- name: results
SELECT custom_id, result FROM cf_batch_requests
WHERE batch_id = :batch_id AND result IS NOT NULL
ORDER BY finished_at, line;

-- name: set_results_url
UPDATE cf_batches SET results_url = :results_url WHERE id = :batch_id;

-- name: heartbeat
INSERT INTO cf_batch_workers (id, batch_id, host, pid, started_at, heartbeat_at)
VALUES (:id, :batch_id, :host, :pid, :now, :now)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at;

-- name: forget_worker
DELETE FROM cf_batch_workers WHERE id = :id;

-- name: workers
SELECT id, host, pid, heartbeat_at FROM cf_batch_workers
WHERE batch_id = :batch_id ORDER BY started_at;

-- name: delete_requests
DELETE FROM cf_batch_requests WHERE batch_id = :batch_id;

-- name: delete_batch
DELETE FROM cf_batches WHERE id = :batch_id;

-- name: prune_workers
DELETE FROM cf_batch_workers WHERE batch_id = :batch_id AND heartbeat_at < :before;

-- name: release_expired_leases
UPDATE cf_batch_requests SET state = {pending}, lease_owner = NULL, lease_expires = NULL
WHERE batch_id = :batch_id AND state = {in_flight} AND lease_expires < :now;

-- name: create_schema_versions
CREATE TABLE IF NOT EXISTS cf_batch_schema_versions
    (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL);

-- name: schema_version
SELECT COALESCE(MAX(version), 0) FROM cf_batch_schema_versions;

-- name: record_schema_version
INSERT INTO cf_batch_schema_versions (version, applied_at) VALUES (:version, :now);

-- name: has_legacy_stamp
SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'cf_batch_schema';

-- name: legacy_stamp
SELECT max(version) FROM cf_batch_schema;

-- name: clear_legacy_stamp
DELETE FROM cf_batch_schema;

-- name: set_legacy_stamp
INSERT INTO cf_batch_schema (version) VALUES (:version);
