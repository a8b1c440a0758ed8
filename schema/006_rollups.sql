-- Rollups the reports read instead of the raw tables: sums per 15 minutes (every time zone's
-- offset is a multiple of 15 minutes, so days and hours of any zone, half-hour ones included,
-- are whole buckets) and per set of dimensions. SummingMergeTree adds rows up as parts merge;
-- queries still sum(). Conversion sums carry both time bases: the click's bucket (revenue on
-- the day of the click, as trackers count) and the conversion's. Cancel rows (sign -1) of a
-- status change subtract what the old state added. A report whose dimensions or range do not
-- fit a rollup reads the raw tables with the same metric definitions (analytics/report-query.ts).
-- The *_daily tables hold UTC days and fewer dimensions (a keyword's campaign, match type and ad
-- group, not its ads, countries or devices): a 30-day keyword ranking in UTC reads about one row
-- per keyword and day.

CREATE TABLE IF NOT EXISTS click_stats_search
(
    bucket          DateTime('UTC'),
    campaign_id     LowCardinality(String),
    traffic_source  LowCardinality(String),
    keyword         String,
    match_type      LowCardinality(String),
    ad              String,
    adgroup         String,
    country         LowCardinality(String),
    device_type     LowCardinality(String),
    clicks          UInt64,
    unique_clicks   UInt64,
    bot_clicks      UInt64,
    cost            Decimal(38, 6)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS click_stats_search_mv TO click_stats_search AS
SELECT
    toStartOfFifteenMinutes(ts) AS bucket, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type,
    count() AS clicks, sum(is_unique) AS unique_clicks, sum(is_bot) AS bot_clicks, sum(click_cost) AS cost
FROM (SELECT *, toDecimal128(cost, 6) AS click_cost FROM clicks)
GROUP BY bucket, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type;

CREATE TABLE IF NOT EXISTS conversion_stats_search
(
    click_bucket    DateTime('UTC'),
    conv_bucket     DateTime('UTC'),
    campaign_id     LowCardinality(String),
    traffic_source  LowCardinality(String),
    keyword         String,
    match_type      LowCardinality(String),
    ad              String,
    adgroup         String,
    country         LowCardinality(String),
    device_type     LowCardinality(String),
    leads           Int64,
    sales           Int64,
    rebills         Int64,
    rejected        Int64,
    chargebacks     Int64,
    revenue         Decimal(38, 6),
    pending_revenue Decimal(38, 6)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(click_bucket)
ORDER BY (click_bucket, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type, conv_bucket)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS conversion_stats_search_mv TO conversion_stats_search AS
SELECT
    toStartOfFifteenMinutes(clicked_at) AS click_bucket, toStartOfFifteenMinutes(converted_at) AS conv_bucket, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type,
    sumIf(sign, status = 'lead') AS leads, sumIf(sign, status = 'sale') AS sales, sumIf(sign, status = 'rebill') AS rebills,
    sumIf(sign, status = 'rejected') AS rejected, sumIf(sign, status = 'chargeback') AS chargebacks,
    sumIf(signed_revenue, status IN ('sale', 'rebill')) AS revenue,
    sumIf(signed_revenue, status = 'lead') AS pending_revenue
-- (a subquery: the output column `revenue` would otherwise shadow the input column in the sums)
FROM (SELECT *, toDecimal128(revenue, 6) * sign AS signed_revenue FROM attributed_conversions)
GROUP BY click_bucket, conv_bucket, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type;

CREATE TABLE IF NOT EXISTS click_stats_utm
(
    bucket          DateTime('UTC'),
    campaign_id     LowCardinality(String),
    traffic_source  LowCardinality(String),
    utm_source      String,
    utm_medium      String,
    utm_campaign    String,
    utm_term        String,
    utm_content     String,
    clicks          UInt64,
    unique_clicks   UInt64,
    bot_clicks      UInt64,
    cost            Decimal(38, 6)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, campaign_id, traffic_source, utm_source, utm_medium, utm_campaign, utm_term, utm_content)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS click_stats_utm_mv TO click_stats_utm AS
SELECT
    toStartOfFifteenMinutes(ts) AS bucket, campaign_id, traffic_source, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
    count() AS clicks, sum(is_unique) AS unique_clicks, sum(is_bot) AS bot_clicks, sum(click_cost) AS cost
FROM (SELECT *, toDecimal128(cost, 6) AS click_cost FROM clicks)
GROUP BY bucket, campaign_id, traffic_source, utm_source, utm_medium, utm_campaign, utm_term, utm_content;

CREATE TABLE IF NOT EXISTS conversion_stats_utm
(
    click_bucket    DateTime('UTC'),
    conv_bucket     DateTime('UTC'),
    campaign_id     LowCardinality(String),
    traffic_source  LowCardinality(String),
    utm_source      String,
    utm_medium      String,
    utm_campaign    String,
    utm_term        String,
    utm_content     String,
    leads           Int64,
    sales           Int64,
    rebills         Int64,
    rejected        Int64,
    chargebacks     Int64,
    revenue         Decimal(38, 6),
    pending_revenue Decimal(38, 6)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(click_bucket)
ORDER BY (click_bucket, campaign_id, traffic_source, utm_source, utm_medium, utm_campaign, utm_term, utm_content, conv_bucket)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS conversion_stats_utm_mv TO conversion_stats_utm AS
SELECT
    toStartOfFifteenMinutes(clicked_at) AS click_bucket, toStartOfFifteenMinutes(converted_at) AS conv_bucket, campaign_id, traffic_source, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
    sumIf(sign, status = 'lead') AS leads, sumIf(sign, status = 'sale') AS sales, sumIf(sign, status = 'rebill') AS rebills,
    sumIf(sign, status = 'rejected') AS rejected, sumIf(sign, status = 'chargeback') AS chargebacks,
    sumIf(signed_revenue, status IN ('sale', 'rebill')) AS revenue,
    sumIf(signed_revenue, status = 'lead') AS pending_revenue
-- (a subquery: the output column `revenue` would otherwise shadow the input column in the sums)
FROM (SELECT *, toDecimal128(revenue, 6) * sign AS signed_revenue FROM attributed_conversions)
GROUP BY click_bucket, conv_bucket, campaign_id, traffic_source, utm_source, utm_medium, utm_campaign, utm_term, utm_content;

CREATE TABLE IF NOT EXISTS click_stats_search_daily
(
    bucket          Date,
    campaign_id     LowCardinality(String),
    traffic_source  LowCardinality(String),
    keyword         String,
    match_type      LowCardinality(String),
    adgroup         String,
    clicks          UInt64,
    unique_clicks   UInt64,
    bot_clicks      UInt64,
    cost            Decimal(38, 6)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, campaign_id, traffic_source, keyword, match_type, adgroup)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS click_stats_search_daily_mv TO click_stats_search_daily AS
SELECT
    toDate(ts) AS bucket, campaign_id, traffic_source, keyword, match_type, adgroup,
    count() AS clicks, sum(is_unique) AS unique_clicks, sum(is_bot) AS bot_clicks, sum(click_cost) AS cost
FROM (SELECT *, toDecimal128(cost, 6) AS click_cost FROM clicks)
GROUP BY bucket, campaign_id, traffic_source, keyword, match_type, adgroup;

CREATE TABLE IF NOT EXISTS conversion_stats_search_daily
(
    click_bucket    Date,
    conv_bucket     Date,
    campaign_id     LowCardinality(String),
    traffic_source  LowCardinality(String),
    keyword         String,
    match_type      LowCardinality(String),
    adgroup         String,
    leads           Int64,
    sales           Int64,
    rebills         Int64,
    rejected        Int64,
    chargebacks     Int64,
    revenue         Decimal(38, 6),
    pending_revenue Decimal(38, 6)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(click_bucket)
ORDER BY (click_bucket, campaign_id, traffic_source, keyword, match_type, adgroup, conv_bucket)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS conversion_stats_search_daily_mv TO conversion_stats_search_daily AS
SELECT
    toDate(clicked_at) AS click_bucket, toDate(converted_at) AS conv_bucket, campaign_id, traffic_source, keyword, match_type, adgroup,
    sumIf(sign, status = 'lead') AS leads, sumIf(sign, status = 'sale') AS sales, sumIf(sign, status = 'rebill') AS rebills,
    sumIf(sign, status = 'rejected') AS rejected, sumIf(sign, status = 'chargeback') AS chargebacks,
    sumIf(signed_revenue, status IN ('sale', 'rebill')) AS revenue,
    sumIf(signed_revenue, status = 'lead') AS pending_revenue
-- (a subquery: the output column `revenue` would otherwise shadow the input column in the sums)
FROM (SELECT *, toDecimal128(revenue, 6) * sign AS signed_revenue FROM attributed_conversions)
GROUP BY click_bucket, conv_bucket, campaign_id, traffic_source, keyword, match_type, adgroup;
