-- Outgoing postbacks (outbound/). The durable source of what to tell traffic sources is ClickHouse,
-- not the conversion event: the event fires once a postback is on the local spool, before it is
-- here, and a crash between the two would lose it. Every state row credited to a click (sign = 1:
-- a new conversion or a status change) is copied here with the time it arrived, which the outbound
-- job reads from a cursor. Rows of a late click are copied when the click lands, with its time.
CREATE TABLE IF NOT EXISTS outbound_queue
(
    queued_at       DateTime64(3, 'UTC'),
    click_id        UInt64,
    conversion_type LowCardinality(String),
    txid            String,
    network         LowCardinality(String),
    status          LowCardinality(String),
    amount          Decimal(18, 6),
    currency        LowCardinality(String),
    revenue         Decimal(18, 6),
    converted_at    DateTime64(3, 'UTC'),
    version         UInt64,
    campaign_id     LowCardinality(String),
    traffic_source  LowCardinality(String),
    ad              String,
    adgroup         String,
    keyword         String,
    match_type      LowCardinality(String),
    utm_source      String,
    utm_medium      String,
    utm_campaign    String,
    utm_term        String,
    utm_content     String,
    sub1 String, sub2 String, sub3 String, sub4 String, sub5 String,
    sub6 String, sub7 String, sub8 String, sub9 String, sub10 String,
    gclid           String,
    msclkid         String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(queued_at)
ORDER BY (queued_at, click_id, conversion_type, txid, version)
-- Replays of a rule reach back this far.
TTL toDateTime(queued_at) + INTERVAL 90 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS queue_outbound TO outbound_queue AS
SELECT
    now64(3) AS queued_at, click_id, conversion_type, txid, network, status, amount, currency, revenue,
    converted_at, version, campaign_id, traffic_source, ad, adgroup, keyword, match_type,
    utm_source, utm_medium, utm_campaign, utm_term, utm_content,
    sub1, sub2, sub3, sub4, sub5, sub6, sub7, sub8, sub9, sub10, gclid, msclkid
FROM attributed_conversions
WHERE sign = 1;

-- Where the outbound job has read outbound_queue up to: the last row read, by the table's order
-- (one row per name; the newest version wins).
CREATE TABLE IF NOT EXISTS outbound_cursor
(
    name            String,
    queued_at       DateTime64(3, 'UTC'),
    click_id        UInt64,
    conversion_type String,
    txid            String,
    row_version     UInt64,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name;

-- One delivery per (conversion, status, rule): its id is a digest of those, so reading the queue
-- again creates nothing twice. The request is rendered when the delivery is created and kept as
-- sent; every change of state writes the row again with a version one above the state it was made
-- from (read with FINAL), so a state written after another it has seen replaces it, whatever the
-- clocks of the processes writing them say.
CREATE TABLE IF NOT EXISTS outbound_deliveries
(
    id              String,
    rule_id         String,
    click_id        UInt64,
    conversion_type LowCardinality(String),
    txid            String,
    status          LowCardinality(String),
    method          LowCardinality(String),
    url             String,
    headers         Map(String, String),
    body            String,
    state           LowCardinality(String),
    attempts        UInt16,
    -- the place in the retry schedule: a replay starts it again
    step            UInt8,
    next_at         DateTime64(3, 'UTC'),
    created_at      DateTime64(3, 'UTC'),
    delivered_at    Nullable(DateTime64(3, 'UTC')),
    last_status     UInt16,
    last_error      String,
    version         UInt64,
    INDEX created_minmax created_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
-- As long as the attempts: every version of a delivery has its created_at, so all go together.
TTL toDateTime(created_at) + INTERVAL 180 DAY;

-- Deliveries a replay set back to pending. The open scan reads deliveries created recently (by
-- created_at, the index above), and these besides: a replayed delivery may be months old.
CREATE TABLE IF NOT EXISTS outbound_replays
(
    id String,
    at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY at
TTL toDateTime(at) + INTERVAL 7 DAY;

-- Every attempt as it went: when, the answer's status code (0: none), how long, the error and the
-- start of the answer.
CREATE TABLE IF NOT EXISTS outbound_attempts
(
    delivery_id String,
    attempt     UInt16,
    at          DateTime64(3, 'UTC'),
    status_code UInt16,
    latency_ms  UInt32,
    error       String,
    answer      String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (delivery_id, at)
TTL toDateTime(at) + INTERVAL 180 DAY;
