-- What each accepted postback did to its conversion, decided by the ingest process when it
-- acknowledged it (the postback ledger, ingest/postbacks/conversion-ledger.ts): a new conversion, a status transition, an
-- updated or added payout, a duplicate or a stale retry (both change nothing). The conv_* columns
-- are the conversion's state after the postback, prev_* its state before (prev_version 0: none).
ALTER TABLE postbacks
    ADD COLUMN IF NOT EXISTS outcome       LowCardinality(String) AFTER params,
    ADD COLUMN IF NOT EXISTS ip            String AFTER outcome,
    ADD COLUMN IF NOT EXISTS revenue       Decimal(18, 6) AFTER ip,
    ADD COLUMN IF NOT EXISTS conv_network  LowCardinality(String) AFTER revenue,
    ADD COLUMN IF NOT EXISTS conv_status   LowCardinality(String) AFTER conv_network,
    ADD COLUMN IF NOT EXISTS conv_amount   Decimal(18, 6) AFTER conv_status,
    ADD COLUMN IF NOT EXISTS conv_currency LowCardinality(String) AFTER conv_amount,
    ADD COLUMN IF NOT EXISTS conv_revenue  Decimal(18, 6) AFTER conv_currency,
    ADD COLUMN IF NOT EXISTS converted_at  DateTime64(3, 'UTC') AFTER conv_revenue,
    ADD COLUMN IF NOT EXISTS prev_version  UInt64 AFTER converted_at,
    ADD COLUMN IF NOT EXISTS prev_status   LowCardinality(String) AFTER prev_version,
    ADD COLUMN IF NOT EXISTS prev_amount   Decimal(18, 6) AFTER prev_status,
    ADD COLUMN IF NOT EXISTS prev_currency LowCardinality(String) AFTER prev_amount,
    ADD COLUMN IF NOT EXISTS prev_revenue  Decimal(18, 6) AFTER prev_currency;

-- Folds postbacks into conversions: a change writes the cancel row of the old state (sign -1,
-- its version) and the new state (sign +1, version = the postback's id, which grows with time).
-- The conversions table has its own dedup window, so a spool batch replayed after a crash adds
-- nothing here either.
CREATE MATERIALIZED VIEW IF NOT EXISTS conversions_from_postbacks TO conversions AS
SELECT
    click_id,
    txid,
    conversion_type,
    conv_network AS network,
    tupleElement(row, 1) AS status,
    tupleElement(row, 2) AS amount,
    tupleElement(row, 3) AS currency,
    tupleElement(row, 4) AS revenue,
    converted_at,
    tupleElement(row, 5) AS sign,
    tupleElement(row, 6) AS version
FROM
(
    SELECT
        click_id, txid, conversion_type, conv_network, converted_at,
        arrayFilter(r -> tupleElement(r, 6) != 0, [
            (prev_status, prev_amount, prev_currency, prev_revenue, toInt8(-1), prev_version),
            (conv_status, conv_amount, conv_currency, conv_revenue, toInt8(1), postback_id)
        ]) AS changes
    FROM postbacks
    WHERE outcome IN ('new', 'transition', 'update', 'add')
)
ARRAY JOIN changes AS row;

-- Account-wide settings documents (currency exchange rates), stored like the other settings.
CREATE TABLE IF NOT EXISTS account_settings
(
    id      String,
    doc     String,
    version UInt64,
    deleted UInt8
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY id;
