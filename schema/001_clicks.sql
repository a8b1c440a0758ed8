-- One row per click on a tracking link. Ordered by the click id, a 64-bit snowflake
-- (milliseconds, node, sequence), so ids sort by time and attribution can look clicks up
-- by id without scanning the table.
CREATE TABLE IF NOT EXISTS clicks
(
    click_id       UInt64,
    ts             DateTime64(3, 'UTC'),
    campaign_id    LowCardinality(String),
    traffic_source LowCardinality(String),
    -- what the ad platform passes: creative, ad group, keyword as bid and as searched
    ad             String,
    adgroup        String,
    keyword        String,
    match_type     LowCardinality(String),
    placement      String,
    network        LowCardinality(String),
    device_hint    LowCardinality(String),
    utm_source     String,
    utm_medium     String,
    utm_campaign   String,
    utm_term       String,
    utm_content    String,
    sub1 String, sub2 String, sub3 String, sub4 String, sub5 String,
    sub6 String, sub7 String, sub8 String, sub9 String, sub10 String,
    gclid          String,
    msclkid        String,
    fbclid         String,
    cost           Decimal(18, 6),
    referrer       String,
    ip             IPv6,
    user_agent     String,
    -- enrichment done at write time
    device_type    LowCardinality(String),
    os             LowCardinality(String),
    browser        LowCardinality(String),
    country        LowCardinality(String),
    is_bot         UInt8,
    is_unique      UInt8,
    -- 1 when the campaign was unknown or paused and the visitor went to the fallback URL
    missed         UInt8,
    -- every query parameter keyrev has no column for, kept as sent
    extra          Map(String, String),
    INDEX ts_minmax ts TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY click_id
-- a replayed spool batch carries the same insert_deduplication_token and is stored once
SETTINGS non_replicated_deduplication_window = 10000;
