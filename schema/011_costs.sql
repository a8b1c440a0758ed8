-- Ad spend imported from the ad platforms' keyword reports (POST /api/costs; costs/). How rows
-- match clicks is in warehouse/cost-store.ts.

-- One row per good line of an upload. Rows count only once their upload is recorded in
-- cost_uploads (written last), and only while that upload is the newest live one of its campaign
-- and day: a later upload of the same day replaces them, deleting it brings them back.
CREATE TABLE IF NOT EXISTS cost_rows
(
    upload_id   String,
    campaign_id LowCardinality(String),
    -- the day in the upload's time zone, and that zone
    day         Date,
    tz          LowCardinality(String),
    -- the day's first instant and the next day's, in UTC (ClickHouse takes a zone only as a constant)
    day_start   DateTime64(3, 'UTC'),
    day_end     DateTime64(3, 'UTC'),
    line        UInt32,
    keyword     String,
    match_type  LowCardinality(String),
    -- the ad group's id and/or name as the report gave them: a click's adgroup matches either
    adgroup     Array(String),
    ad          String,
    -- as uploaded, and in the account currency
    amount      Decimal(18, 6),
    currency    LowCardinality(String),
    spend       Decimal(18, 6)
)
ENGINE = MergeTree
ORDER BY (campaign_id, day, upload_id, line);

-- An upload: its campaign, zone and days, what it held; deleted (undone) by a newer version.
CREATE TABLE IF NOT EXISTS cost_uploads
(
    upload_id   String,
    campaign_id LowCardinality(String),
    tz          LowCardinality(String),
    days        Array(Date),
    seq         UInt64,
    created_at  DateTime64(3, 'UTC'),
    rows        UInt32,
    matched     UInt32,
    spend       Decimal(18, 6),
    currency    LowCardinality(String),
    deleted     UInt8,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY upload_id;
