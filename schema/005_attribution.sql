-- Each conversion row (state and cancel rows alike) with the attributes of the click it is
-- credited to. Written by two views: when conversions arrive (their clicks looked up by the
-- ids of the inserted block, never a join over all clicks, whose cost grows with the table), and when a
-- click arrives after its postback (the conversions of the block's click ids are copied).
-- keyrev inserts clicks and postbacks one batch at a time, and each view leaves out rows already
-- credited (an insert sent again runs the views again), so each row is credited once.
CREATE TABLE IF NOT EXISTS attributed_conversions
(
    click_id        UInt64,
    conversion_type LowCardinality(String),
    txid            String,
    network         LowCardinality(String),
    status          LowCardinality(String),
    amount          Decimal(18, 6),
    currency        LowCardinality(String),
    revenue         Decimal(18, 6),
    converted_at    DateTime64(3, 'UTC'),
    sign            Int8,
    version         UInt64,
    clicked_at      DateTime64(3, 'UTC'),
    campaign_id     LowCardinality(String),
    traffic_source  LowCardinality(String),
    ad              String,
    adgroup         String,
    keyword         String,
    match_type      LowCardinality(String),
    placement       String,
    country         LowCardinality(String),
    device_type     LowCardinality(String),
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
ENGINE = VersionedCollapsingMergeTree(sign, version)
PARTITION BY toYYYYMM(clicked_at)
ORDER BY (click_id, conversion_type, txid)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS attribute_conversions TO attributed_conversions AS
SELECT
    c.click_id AS click_id, c.conversion_type AS conversion_type, c.txid AS txid, c.network AS network,
    c.status AS status, c.amount AS amount, c.currency AS currency, c.revenue AS revenue,
    c.converted_at AS converted_at, c.sign AS sign, c.version AS version,
    k.ts AS clicked_at, k.campaign_id AS campaign_id, k.traffic_source AS traffic_source, k.ad AS ad,
    k.adgroup AS adgroup, k.keyword AS keyword, k.match_type AS match_type, k.placement AS placement,
    k.country AS country, k.device_type AS device_type, k.utm_source AS utm_source,
    k.utm_medium AS utm_medium, k.utm_campaign AS utm_campaign, k.utm_term AS utm_term,
    k.utm_content AS utm_content, k.sub1 AS sub1, k.sub2 AS sub2, k.sub3 AS sub3, k.sub4 AS sub4,
    k.sub5 AS sub5, k.sub6 AS sub6, k.sub7 AS sub7, k.sub8 AS sub8, k.sub9 AS sub9, k.sub10 AS sub10,
    k.gclid AS gclid, k.msclkid AS msclkid
FROM conversions AS c
INNER JOIN
(
    -- only the columns credited: a click row also holds the user agent, referrer and extra map
    SELECT click_id, ts, campaign_id, traffic_source, ad, adgroup, keyword, match_type, placement, country, device_type, utm_source, utm_medium, utm_campaign, utm_term, utm_content, sub1, sub2, sub3, sub4, sub5, sub6, sub7, sub8, sub9, sub10, gclid, msclkid
    FROM clicks WHERE click_id IN (SELECT click_id FROM conversions)
) AS k ON k.click_id = c.click_id
-- A conversion insert sent again (its answer lost) stores nothing in `conversions` but still runs
-- this view; its click may have arrived in between, and been credited by attribute_late_clicks.
WHERE (c.click_id, c.conversion_type, c.txid, c.version, c.sign) NOT IN (
    SELECT click_id, conversion_type, txid, version, sign FROM attributed_conversions
    WHERE click_id IN (SELECT click_id FROM conversions)
);

CREATE MATERIALIZED VIEW IF NOT EXISTS attribute_late_clicks TO attributed_conversions AS
SELECT
    c.click_id AS click_id, c.conversion_type AS conversion_type, c.txid AS txid, c.network AS network,
    c.status AS status, c.amount AS amount, c.currency AS currency, c.revenue AS revenue,
    c.converted_at AS converted_at, c.sign AS sign, c.version AS version,
    k.ts AS clicked_at, k.campaign_id AS campaign_id, k.traffic_source AS traffic_source, k.ad AS ad,
    k.adgroup AS adgroup, k.keyword AS keyword, k.match_type AS match_type, k.placement AS placement,
    k.country AS country, k.device_type AS device_type, k.utm_source AS utm_source,
    k.utm_medium AS utm_medium, k.utm_campaign AS utm_campaign, k.utm_term AS utm_term,
    k.utm_content AS utm_content, k.sub1 AS sub1, k.sub2 AS sub2, k.sub3 AS sub3, k.sub4 AS sub4,
    k.sub5 AS sub5, k.sub6 AS sub6, k.sub7 AS sub7, k.sub8 AS sub8, k.sub9 AS sub9, k.sub10 AS sub10,
    k.gclid AS gclid, k.msclkid AS msclkid
FROM clicks AS k
INNER JOIN
(
    SELECT click_id, conversion_type, txid, network, status, amount, currency, revenue, converted_at, sign, version
    FROM conversions WHERE click_id IN (SELECT click_id FROM clicks)
) AS c ON c.click_id = k.click_id
-- A click insert sent again stores nothing in `clicks` but still runs this view, which would
-- credit the conversions that arrived since (credited by attribute_conversions) a second time.
WHERE (c.click_id, c.conversion_type, c.txid, c.version, c.sign) NOT IN (
    SELECT click_id, conversion_type, txid, version, sign FROM attributed_conversions
    WHERE click_id IN (SELECT click_id FROM clicks)
);
