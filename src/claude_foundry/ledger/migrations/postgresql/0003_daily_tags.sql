-- Daily totals per tag (name and value), kept by the writer like ledger_daily, so a report by
-- tag:NAME reads whole days from here instead of every call. A call with two tags counts once
-- under each; a call without the tag is what the day's total leaves over. A tag unique to each
-- call (custom_id: rollup.PER_CALL_TAGS) stays in the calls only.
CREATE TABLE ledger_daily_tags (
    day BIGINT NOT NULL,
    tag TEXT NOT NULL,
    value TEXT NOT NULL,
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
    PRIMARY KEY (day, tag, value, price_table)
);
CREATE TABLE ledger_daily_tag_latency (
    day BIGINT NOT NULL,
    tag TEXT NOT NULL,
    value TEXT NOT NULL,
    kind TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    calls BIGINT NOT NULL,
    PRIMARY KEY (day, tag, value, kind, bucket)
);
INSERT INTO ledger_daily_tags
SELECT CAST(FLOOR(started_at / 86400) AS BIGINT), t.key, t.value,
       COALESCE(price_table, ''), COUNT(*),
       SUM(CASE WHEN outcome = 'error' THEN 1 ELSE 0 END),
       SUM(CASE WHEN throttled > 0 THEN 1 ELSE 0 END),
       COALESCE(SUM(CASE WHEN operation = 'count_tokens' THEN 0 ELSE input_tokens END), 0),
       COALESCE(SUM(output_tokens), 0),
       COALESCE(SUM(cache_creation_input_tokens), 0), COALESCE(SUM(cache_read_input_tokens), 0),
       COALESCE(SUM(cost_usd), 0), SUM(CASE WHEN cost_usd IS NULL AND outcome = 'ok' THEN 1 ELSE 0 END)
FROM ledger_calls, jsonb_each_text(ledger_calls.tags) AS t
WHERE ledger_calls.tags IS NOT NULL AND t.key <> 'custom_id' GROUP BY 1, 2, 3, 4;
INSERT INTO ledger_daily_tag_latency
SELECT CAST(FLOOR(started_at / 86400) AS BIGINT), t.key, t.value, 'duration',
       duration_bucket, COUNT(*)
FROM ledger_calls, jsonb_each_text(ledger_calls.tags) AS t
WHERE ledger_calls.tags IS NOT NULL AND t.key <> 'custom_id' AND duration_bucket IS NOT NULL GROUP BY 1, 2, 3, 4, 5;
INSERT INTO ledger_daily_tag_latency
SELECT CAST(FLOOR(started_at / 86400) AS BIGINT), t.key, t.value, 'ttft',
       ttft_bucket, COUNT(*)
FROM ledger_calls, jsonb_each_text(ledger_calls.tags) AS t
WHERE ledger_calls.tags IS NOT NULL AND t.key <> 'custom_id' AND ttft_bucket IS NOT NULL GROUP BY 1, 2, 3, 4, 5;
-- A count_tokens call answers with a count of input tokens; nothing was used, so the daily
-- totals (built by 0002 with those counts) take none.
UPDATE ledger_daily SET input_tokens = 0 WHERE operation = 'count_tokens';
