-- Clicks by the ad platform's own click id (Google's gclid, wbraid, gbraid; Microsoft's msclkid):
-- under parallel tracking the landing page and the affiliate network know only that id, so the
-- landing-page script and postbacks find keyrev's click through it. Kept apart from `clicks`
-- (ordered by click id), so that a lookup by platform id reads a few granules, not the table.
-- Two clicks may carry one id (two keyrev processes raced, a visitor reloaded): lookups take the
-- first, min(click_id).
CREATE TABLE IF NOT EXISTS platform_clicks
(
    platform_click_id String,
    platform          LowCardinality(String),
    click_id          UInt64,
    campaign_id       LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY (platform_click_id, click_id)
SETTINGS non_replicated_deduplication_window = 10000;

-- wbraid and gbraid have no column of their own: the click path keeps them in `extra`.
CREATE MATERIALIZED VIEW IF NOT EXISTS index_platform_clicks TO platform_clicks AS
SELECT p.2 AS platform_click_id, p.1 AS platform, click_id, campaign_id
FROM clicks
ARRAY JOIN [('gclid', gclid), ('msclkid', msclkid), ('wbraid', extra['wbraid']), ('gbraid', extra['gbraid'])] AS p
WHERE p.2 != '' AND missed = 0;

-- Clicks recorded before this table existed. Run again (an interrupted migration), it copies rows a
-- second time, which lookups (min per id) do not notice.
INSERT INTO platform_clicks (platform_click_id, platform, click_id, campaign_id)
SELECT p.2, p.1, click_id, campaign_id
FROM clicks
ARRAY JOIN [('gclid', gclid), ('msclkid', msclkid), ('wbraid', extra['wbraid']), ('gbraid', extra['gbraid'])] AS p
WHERE p.2 != '' AND missed = 0;
