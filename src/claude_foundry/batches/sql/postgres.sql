-- The batch store's queries for PostgreSQL. Each query starts with "-- name: NAME"; parameters are
-- %(named)s. State guards come from the tables in _state.py ({pending}, {in_flight}, ...).
-- The tables themselves are made by the numbered files in migrations/postgresql/.

-- name: insert_batch
INSERT INTO cf_batches (id, label, input_sha256, request_count, created_at, expires_at)
VALUES (%(id)s, %(label)s, %(input_sha256)s, %(request_count)s, %(created_at)s, %(expires_at)s);

-- name: insert_request
INSERT INTO cf_batch_requests (batch_id, custom_id, line, params)
VALUES (%(batch_id)s, %(custom_id)s, %(line)s, %(params)s);

-- name: get_batch
SELECT id, label, input_sha256, processing_status, request_count, created_at, expires_at,
       ended_at, cancel_initiated_at, results_url
FROM cf_batches WHERE id = %(id)s;

-- name: find_batch
SELECT id FROM cf_batches WHERE label = %(label)s ORDER BY created_at DESC LIMIT 1;

-- name: list_batches
SELECT id FROM cf_batches ORDER BY created_at DESC, id DESC;

-- name: counts
SELECT state, count(*) FROM cf_batch_requests WHERE batch_id = %(batch_id)s GROUP BY state;

-- name: claim
UPDATE cf_batch_requests AS r
SET state = {in_flight}, lease_owner = %(worker)s, lease_expires = %(until)s,
    claims = r.claims + 1
FROM (
    SELECT batch_id, custom_id FROM cf_batch_requests
    WHERE batch_id = %(batch_id)s
      AND state = {pending}
      AND EXISTS (SELECT 1 FROM cf_batches
                  WHERE id = %(batch_id)s AND processing_status = 'in_progress'
                    AND expires_at > %(now)s)
    ORDER BY line
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
) AS c
WHERE r.batch_id = c.batch_id AND r.custom_id = c.custom_id
RETURNING r.custom_id, r.params;

-- name: renew
UPDATE cf_batch_requests SET lease_expires = %(until)s
WHERE batch_id = %(batch_id)s AND custom_id = %(custom_id)s AND state = {in_flight}
  AND lease_owner = %(worker)s;

-- name: finish
UPDATE cf_batch_requests
SET state = %(state)s, result = %(result)s, finished_at = %(now)s, lease_owner = NULL,
    lease_expires = NULL, exported = 0
WHERE batch_id = %(batch_id)s AND custom_id = %(custom_id)s AND state IN {finish_sources}
  AND lease_owner = %(worker)s;

-- name: release
UPDATE cf_batch_requests SET state = {pending}, lease_owner = NULL, lease_expires = NULL
WHERE batch_id = %(batch_id)s AND custom_id = %(custom_id)s AND state = {in_flight}
  AND lease_owner = %(worker)s;

-- name: release_owner
UPDATE cf_batch_requests SET state = {pending}, lease_owner = NULL, lease_expires = NULL
WHERE batch_id = %(batch_id)s AND state = {in_flight} AND lease_owner = %(worker)s;

-- name: lease_owners
SELECT DISTINCT lease_owner FROM cf_batch_requests
WHERE batch_id = %(batch_id)s AND state = {in_flight};

-- name: mark_batch
UPDATE cf_batches
SET processing_status = %(to_status)s::text,
    ended_at = CASE WHEN %(to_status)s::text = 'ended' THEN %(now)s ELSE ended_at END,
    cancel_initiated_at = CASE WHEN %(to_status)s::text = 'canceling' THEN %(now)s
                               ELSE cancel_initiated_at END
WHERE id = %(batch_id)s AND processing_status IN {from_statuses};

-- name: close_pending
UPDATE cf_batch_requests
SET state = %(state)s, result = %(result)s, finished_at = %(now)s, lease_owner = NULL,
    lease_expires = NULL, exported = 0
WHERE batch_id = %(batch_id)s
  AND (state = {pending} OR (state = {in_flight} AND lease_expires < %(now)s));

-- name: unexported
SELECT custom_id, result FROM cf_batch_requests
WHERE batch_id = %(batch_id)s AND exported = 0
ORDER BY finished_at, line LIMIT %(limit)s;

-- name: mark_exported
UPDATE cf_batch_requests SET exported = 1
WHERE batch_id = %(batch_id)s AND custom_id = %(custom_id)s;

-- name: results
SELECT custom_id, result FROM cf_batch_requests
WHERE batch_id = %(batch_id)s AND result IS NOT NULL
ORDER BY finished_at, line;

-- name: set_results_url
UPDATE cf_batches SET results_url = %(results_url)s WHERE id = %(batch_id)s;

-- name: heartbeat
INSERT INTO cf_batch_workers (id, batch_id, host, pid, started_at, heartbeat_at)
VALUES (%(id)s, %(batch_id)s, %(host)s, %(pid)s, %(now)s, %(now)s)
ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at;

-- name: forget_worker
DELETE FROM cf_batch_workers WHERE id = %(id)s;

-- name: workers
SELECT id, host, pid, heartbeat_at FROM cf_batch_workers
WHERE batch_id = %(batch_id)s ORDER BY started_at;

-- name: delete_requests
DELETE FROM cf_batch_requests WHERE batch_id = %(batch_id)s;

-- name: delete_batch
DELETE FROM cf_batches WHERE id = %(batch_id)s;

-- name: prune_workers
DELETE FROM cf_batch_workers WHERE batch_id = %(batch_id)s AND heartbeat_at < %(before)s;

-- name: release_expired_leases
UPDATE cf_batch_requests SET state = {pending}, lease_owner = NULL, lease_expires = NULL
WHERE batch_id = %(batch_id)s AND state = {in_flight} AND lease_expires < %(now)s;

-- name: create_schema_versions
CREATE TABLE IF NOT EXISTS cf_batch_schema_versions
    (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL);

-- name: schema_version
SELECT COALESCE(MAX(version), 0) FROM cf_batch_schema_versions;

-- name: record_schema_version
INSERT INTO cf_batch_schema_versions (version, applied_at) VALUES (%(version)s, %(now)s);

-- name: has_legacy_stamp
SELECT CASE WHEN to_regclass('cf_batch_schema') IS NULL THEN 0 ELSE 1 END;

-- name: legacy_stamp
SELECT max(version) FROM cf_batch_schema;

-- name: clear_legacy_stamp
DELETE FROM cf_batch_schema;

-- name: set_legacy_stamp
INSERT INTO cf_batch_schema (version) VALUES (%(version)s);
