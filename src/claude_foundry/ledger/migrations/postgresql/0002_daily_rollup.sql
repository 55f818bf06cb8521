-- Daily totals kept up to date by the writer (in the transaction that inserts the calls), so a
-- report over a month reads a few thousand rows instead of every call. Keys are '' rather than
-- NULL: a unique key treats NULLs as distinct, and the upsert must find its row.
CREATE TABLE ledger_daily (
    day BIGINT NOT NULL,
    deployment TEXT NOT NULL,
    model TEXT NOT NULL,
    host TEXT NOT NULL,
    route TEXT NOT NULL,
    operation TEXT NOT NULL,
    outcome TEXT NOT NULL,
    price_table TEXT NOT NULL,
    calls BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    throttled BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cache_write_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL,
    unpriced_calls BIGINT NOT NULL,
    PRIMARY KEY (day, deployment, model, host, route, operation, outcome, price_table)
);
-- Latency histograms per day: kind 'duration' or 'ttft', bucket as in ledger_calls.
CREATE TABLE ledger_daily_latency (
    day BIGINT NOT NULL,
    deployment TEXT NOT NULL,
    model TEXT NOT NULL,
    host TEXT NOT NULL,
    route TEXT NOT NULL,
    operation TEXT NOT NULL,
    outcome TEXT NOT NULL,
    kind TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    calls BIGINT NOT NULL,
    PRIMARY KEY (day, deployment, model, host, route, operation, outcome, kind, bucket)
);
INSERT INTO ledger_daily
SELECT CAST(FLOOR(started_at / 86400) AS BIGINT), COALESCE(deployment, ''),
       COALESCE(model, priced_model, ''), COALESCE(host, ''), COALESCE(route, ''), operation,
       outcome, COALESCE(price_table, ''), COUNT(*),
       SUM(CASE WHEN outcome = 'error' THEN 1 ELSE 0 END),
       SUM(CASE WHEN throttled > 0 THEN 1 ELSE 0 END),
       COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
       COALESCE(SUM(cache_creation_input_tokens), 0), COALESCE(SUM(cache_read_input_tokens), 0),
       COALESCE(SUM(cost_usd), 0), SUM(CASE WHEN cost_usd IS NULL AND outcome = 'ok' THEN 1 ELSE 0 END)
FROM ledger_calls GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
INSERT INTO ledger_daily_latency
SELECT CAST(FLOOR(started_at / 86400) AS BIGINT), COALESCE(deployment, ''),
       COALESCE(model, priced_model, ''), COALESCE(host, ''), COALESCE(route, ''), operation,
       outcome, 'duration', duration_bucket, COUNT(*)
FROM ledger_calls WHERE duration_bucket IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
INSERT INTO ledger_daily_latency
SELECT CAST(FLOOR(started_at / 86400) AS BIGINT), COALESCE(deployment, ''),
       COALESCE(model, priced_model, ''), COALESCE(host, ''), COALESCE(route, ''), operation,
       outcome, 'ttft', ttft_bucket, COUNT(*)
FROM ledger_calls WHERE ttft_bucket IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
