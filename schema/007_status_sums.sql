-- The status -> sums mapping, defined once: which latest status of a conversion counts as a lead,
-- a sale, ... and which payouts count as revenue (sales and rebills) or pending revenue (leads).
-- `sign` is the row's +1 / -1 (a cancel row subtracts what the old state added), `revenue` its
-- payout in the account currency. The rollup views below and the raw-table reports
-- (analytics/report-query.ts) both call these functions, so a rollup and the raw tables cannot
-- disagree on a status; other queries reach them through conversionSumSql() (analytics/report-metrics.ts).
--
-- On a ClickHouse server, CREATE FUNCTION needs its grant, and functions belong to the server, not
-- to the database: every keyrev database on one server shares them (ON CLUSTER is not used, so on
-- a cluster each server gets them from the keyrev process that migrates against it).
CREATE FUNCTION IF NOT EXISTS kr_leads AS (status, sign) -> if(status = 'lead', sign, 0);
CREATE FUNCTION IF NOT EXISTS kr_sales AS (status, sign) -> if(status = 'sale', sign, 0);
CREATE FUNCTION IF NOT EXISTS kr_rebills AS (status, sign) -> if(status = 'rebill', sign, 0);
CREATE FUNCTION IF NOT EXISTS kr_rejected AS (status, sign) -> if(status = 'rejected', sign, 0);
CREATE FUNCTION IF NOT EXISTS kr_chargebacks AS (status, sign) -> if(status = 'chargeback', sign, 0);
CREATE FUNCTION IF NOT EXISTS kr_revenue AS (status, revenue, sign) -> if(status IN ('sale', 'rebill'), toDecimal64(revenue, 6) * sign, toDecimal64(0, 6));
CREATE FUNCTION IF NOT EXISTS kr_pending_revenue AS (status, revenue, sign) -> if(status = 'lead', toDecimal64(revenue, 6) * sign, toDecimal64(0, 6));

-- The conversion rollup views of 006 re-defined over the functions. Here rather than by editing
-- 006: a fresh database runs 006 before this file, and a view cannot be created calling a function
-- that does not exist yet; and ClickHouse copies a function's body into a view's stored query when
-- the view is created or modified, so the views have to be re-defined after the functions anyway.
-- MODIFY QUERY swaps the query atomically (no moment without the view, in which inserted rows
-- would miss the rollup) and is safe to run again. Because the body is copied, a later change of a
-- function must re-define these views too: schema/migrate.ts does that by itself after any
-- function statement it runs.
ALTER TABLE conversion_stats_search_mv MODIFY QUERY
SELECT
    toStartOfFifteenMinutes(clicked_at) AS click_bucket, toStartOfFifteenMinutes(converted_at) AS conv_bucket, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type,
    sum(kr_leads(status, sign)) AS leads, sum(kr_sales(status, sign)) AS sales, sum(kr_rebills(status, sign)) AS rebills,
    sum(kr_rejected(status, sign)) AS rejected, sum(kr_chargebacks(status, sign)) AS chargebacks,
    sum(kr_revenue(status, conv_revenue, sign)) AS revenue, sum(kr_pending_revenue(status, conv_revenue, sign)) AS pending_revenue
-- (a subquery: the output column `revenue` would otherwise shadow the input column in the sums)
FROM (SELECT *, revenue AS conv_revenue FROM attributed_conversions)
GROUP BY click_bucket, conv_bucket, campaign_id, traffic_source, keyword, match_type, ad, adgroup, country, device_type;

ALTER TABLE conversion_stats_utm_mv MODIFY QUERY
SELECT
    toStartOfFifteenMinutes(clicked_at) AS click_bucket, toStartOfFifteenMinutes(converted_at) AS conv_bucket, campaign_id, traffic_source, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
    sum(kr_leads(status, sign)) AS leads, sum(kr_sales(status, sign)) AS sales, sum(kr_rebills(status, sign)) AS rebills,
    sum(kr_rejected(status, sign)) AS rejected, sum(kr_chargebacks(status, sign)) AS chargebacks,
    sum(kr_revenue(status, conv_revenue, sign)) AS revenue, sum(kr_pending_revenue(status, conv_revenue, sign)) AS pending_revenue
FROM (SELECT *, revenue AS conv_revenue FROM attributed_conversions)
GROUP BY click_bucket, conv_bucket, campaign_id, traffic_source, utm_source, utm_medium, utm_campaign, utm_term, utm_content;

ALTER TABLE conversion_stats_search_daily_mv MODIFY QUERY
SELECT
    toDate(clicked_at) AS click_bucket, toDate(converted_at) AS conv_bucket, campaign_id, traffic_source, keyword, match_type, adgroup,
    sum(kr_leads(status, sign)) AS leads, sum(kr_sales(status, sign)) AS sales, sum(kr_rebills(status, sign)) AS rebills,
    sum(kr_rejected(status, sign)) AS rejected, sum(kr_chargebacks(status, sign)) AS chargebacks,
    sum(kr_revenue(status, conv_revenue, sign)) AS revenue, sum(kr_pending_revenue(status, conv_revenue, sign)) AS pending_revenue
FROM (SELECT *, revenue AS conv_revenue FROM attributed_conversions)
GROUP BY click_bucket, conv_bucket, campaign_id, traffic_source, keyword, match_type, adgroup;
