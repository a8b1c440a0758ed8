-- Every accepted postback, as received: the history of each conversion's statuses.
CREATE TABLE IF NOT EXISTS postbacks
(
    postback_id     UInt64,
    received_at     DateTime64(3, 'UTC'),
    click_id        UInt64,
    network         LowCardinality(String),
    txid            String,
    conversion_type LowCardinality(String),
    status          LowCardinality(String),
    amount          Decimal(18, 6),
    currency        LowCardinality(String),
    params          Map(String, String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY postback_id
SETTINGS non_replicated_deduplication_window = 10000;

-- The current state of each conversion (click, transaction id, type). A status change writes a
-- cancel row (sign -1) for the old state and a new row (sign +1) with a higher version, so
-- sum(x * sign) counts each conversion once at its latest status.
CREATE TABLE IF NOT EXISTS conversions
(
    click_id        UInt64,
    txid            String,
    conversion_type LowCardinality(String),
    network         LowCardinality(String),
    status          LowCardinality(String),
    amount          Decimal(18, 6),
    currency        LowCardinality(String),
    revenue         Decimal(18, 6),
    converted_at    DateTime64(3, 'UTC'),
    sign            Int8,
    version         UInt64
)
ENGINE = VersionedCollapsingMergeTree(sign, version)
ORDER BY (click_id, conversion_type, txid)
SETTINGS non_replicated_deduplication_window = 10000;
