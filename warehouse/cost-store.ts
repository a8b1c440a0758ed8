import type { QueryParams, Warehouse } from './warehouse.js';

/** A good line of an upload, as stored (money as Decimal(18, 6) text). */
export interface CostRow {
  upload_id: string;
  campaign_id: string;
  day: string;
  tz: string;
  day_start: string;
  day_end: string;
  line: number;
  keyword: string;
  match_type: string;
  adgroup: string[];
  ad: string;
  amount: string;
  currency: string;
  spend: string;
}

export interface CostUpload {
  upload_id: string;
  campaign_id: string;
  tz: string;
  days: string[];
  seq: string;
  created_at: string;
  rows: number;
  matched: number;
  spend: string;
  currency: string;
  deleted: 0 | 1;
  version: string;
}

/**
 * The rows in force: for each campaign and day, those of its newest upload that is not deleted.
 * Replace, never add: an upload of a day replaces the day's earlier uploads whole (the platforms'
 * reports give each day's complete figures), and deleting it brings the one before back.
 */
export const liveCostRowsSql = `SELECT * FROM cost_rows
   WHERE (upload_id, campaign_id, day) IN (
     SELECT argMax(upload_id, seq), campaign_id, day
       FROM (SELECT upload_id, campaign_id, days, seq FROM cost_uploads FINAL WHERE deleted = 0)
       ARRAY JOIN days AS day
      GROUP BY campaign_id, day)`;

/** A keyword as compared: case-insensitive, runs of white space as one space. */
const keywordKey = (column: string) => `lowerUTF8(trimBoth(replaceRegexpAll(${column}, '[[:space:]]+', ' ')))`;
/** A match type as compared: by first letter, so Google's "Exact match", a stored "exact" and ValueTrack's "e" are one. */
const matchTypeKey = (column: string) => `lowerUTF8(substring(trimBoth(${column}), 1, 1))`;

/**
 * Whether a click matches a cost row, for rows aliased r and clicks k (k.day: the click's day in
 * the row's zone): the same campaign and day, the same keyword, and the row's match type, ad group
 * and ad where it has them.
 */
const keywordsEqual = `${keywordKey('k.keyword')} = ${keywordKey('r.keyword')}`;
export const costMatchSql = `k.campaign_id = r.campaign_id AND k.day = r.day AND ${keywordsEqual}
  AND (r.match_type = '' OR ${matchTypeKey('k.match_type')} = ${matchTypeKey('r.match_type')})
  AND (empty(r.adgroup) OR has(r.adgroup, k.adgroup)) AND (r.ad = '' OR k.ad = r.ad)`;

/**
 * Whether imported spend may be in force in a report's range (SQL of its bounds and their
 * parameters): an upload with a day within a day of it. Reports leave the correction out
 * otherwise: ClickHouse takes a few hundred milliseconds to plan it even when it reads nothing.
 */
export async function hasImportedCost(wh: Warehouse, range: { from: string; to: string; params: QueryParams }): Promise<boolean> {
  const [row] = await wh.query<{ n: number }>(
    `SELECT count() AS n FROM (
       SELECT upload_id FROM cost_uploads FINAL
        WHERE deleted = 0 AND arrayExists(d -> d >= toDate(${range.from}, 'UTC') - 1 AND d <= toDate(${range.to}, 'UTC') + 1, days)
        LIMIT 1)`,
    range.params,
  );
  return Number(row?.n ?? 0) > 0;
}

/** Each day's first instant and the next day's in a zone, as UTC 'YYYY-MM-DD hh:mm:ss.sss' (ClickHouse's zone database). */
export async function dayBounds(wh: Warehouse, tz: string, days: readonly string[]): Promise<Map<string, { start: string; end: string }>> {
  const rows = await wh.query<{ day: string; start: string; end: string }>(
    `SELECT toString(d) AS day,
            toString(toDateTime64(toDateTime(d, {tz:String}), 3, 'UTC')) AS start,
            toString(toDateTime64(toDateTime(d + 1, {tz:String}), 3, 'UTC')) AS end
       FROM (SELECT arrayJoin({days:Array(Date)}) AS d)`,
    { tz, days: [...days] },
  );
  return new Map(rows.map((r) => [r.day, { start: r.start, end: r.end }]));
}

export async function insertCostRows(wh: Warehouse, rows: readonly CostRow[]): Promise<void> {
  await wh.insert('cost_rows', rows);
}

/** Writing the upload record makes its rows count (they were written before it). */
export async function putCostUpload(wh: Warehouse, upload: CostUpload): Promise<void> {
  await wh.insert('cost_uploads', [upload]);
}

/**
 * SQL of the lines of an upload that match at least one click of its campaign (bots included: the
 * platform charged for them too). Clicks are read for the upload's days only, in its zone.
 */
const matchedLinesSql = `SELECT DISTINCT r.line AS line
   FROM (SELECT * FROM cost_rows WHERE upload_id = {upload:String} AND campaign_id = {campaign:String}) AS r
   INNER JOIN (
     SELECT DISTINCT campaign_id, toDate(ts, {tz:String}) AS day, keyword, match_type, adgroup, ad
       FROM clicks
      WHERE campaign_id = {campaign:String}
        AND ts >= toDateTime64(toDateTime({first:Date}, {tz:String}), 3) AND ts < toDateTime64(toDateTime({last:Date} + 1, {tz:String}), 3)
   ) AS k ON k.campaign_id = r.campaign_id AND k.day = r.day
  WHERE ${costMatchSql}`;

/** How many lines of an upload match clicks, and the first `limit` that do not. */
export async function costMatchSummary(
  wh: Warehouse,
  u: { uploadId: string; campaignId: string; tz: string; firstDay: string; lastDay: string },
  limit: number,
): Promise<{ matched: number; unmatched: { line: number; day: string; keyword: string; match_type: string }[] }> {
  const params = { upload: u.uploadId, campaign: u.campaignId, tz: u.tz, first: u.firstDay, last: u.lastDay, limit };
  const [count] = await wh.query<{ n: string }>(`SELECT toString(count()) AS n FROM (${matchedLinesSql})`, params);
  const unmatched = await wh.query<{ line: number; day: string; keyword: string; match_type: string }>(
    `SELECT line, toString(day) AS day, keyword, match_type FROM cost_rows
      WHERE upload_id = {upload:String} AND campaign_id = {campaign:String} AND line NOT IN (${matchedLinesSql})
      ORDER BY line LIMIT {limit:UInt32}`,
    params,
  );
  return { matched: Number(count?.n ?? 0), unmatched };
}

/** A live upload by id, or undefined. */
export async function findCostUpload(wh: Warehouse, uploadId: string): Promise<CostUpload | undefined> {
  return (await listCostUploads(wh, uploadId))[0];
}

/** The live uploads, newest first (one of them when `uploadId` is given). */
export async function listCostUploads(wh: Warehouse, uploadId?: string): Promise<CostUpload[]> {
  return wh.query<CostUpload>(
    `SELECT upload_id, campaign_id, tz, arrayMap(d -> toString(d), days) AS days, toString(seq) AS seq,
            formatDateTime(created_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS created_at, rows, matched, toString(spend) AS spend, currency, deleted, toString(version) AS version
       FROM cost_uploads FINAL WHERE deleted = 0${uploadId === undefined ? '' : ' AND upload_id = {upload:String}'} ORDER BY seq DESC LIMIT 1000`,
    uploadId === undefined ? {} : { upload: uploadId },
  );
}

/** The live spend of a campaign's days, summed per day (for checks and the upload answer). */
export async function liveSpendByDay(wh: Warehouse, campaignId: string): Promise<{ day: string; spend: string }[]> {
  return wh.query(
    `SELECT toString(day) AS day, toString(sum(spend)) AS spend FROM (${liveCostRowsSql}) WHERE campaign_id = {campaign:String} GROUP BY day ORDER BY day`,
    { campaign: campaignId },
  );
}

/**
 * Rows whose sum is the correction imported spend makes to the click costs of a report (the
 * report query adds them to its `cost`; analytics/report-query.ts). Each has the click columns
 * the report's dimensions read (`columns`), a time `ts`, and `cost_delta`:
 * - every click of a campaign and day that has imported spend: minus its recorded cost;
 * - every such click matching a cost row: the row's spend divided by the row's matching clicks
 *   (all clicks of that day, bots too: the platform charged for them), so that at keyword level
 *   the clicks carry exactly the uploaded figure, and every other grouping splits it by clicks;
 * - every cost row no click matches: its spend, at the start of its day, with its campaign,
 *   keyword, match type, ad group and ad, the other dimensions empty (shown as unmatched spend).
 * `from` and `to` are SQL for the report's range; only days overlapping it are read, but always
 * whole days, so a row's share does not depend on the range.
 */
export function importedCostSql(columns: readonly string[], from: string, to: string): string {
  const clickColumns = columns.map((c) => `k.${c} AS ${c}`).join(', ');
  const rowColumn = (c: string) =>
    ({ campaign_id: 'campaign_id', keyword: 'keyword', match_type: 'match_type', ad: 'ad', adgroup: "if(empty(adgroup), '', adgroup[1])" })[c] ?? "''";
  const rowColumns = columns.map((c) => `${rowColumn(c)} AS ${c}`).join(', ');
  return `WITH
    r_live AS (SELECT * FROM (${liveCostRowsSql}) WHERE day_end > ${from} AND day_start < ${to}),
    k_days AS (
      SELECT ${clickColumns}, k.ts AS ts, k.cost AS cost, d.day AS day
        FROM (SELECT * FROM clicks
               WHERE campaign_id IN (SELECT campaign_id FROM r_live)
                 AND ts >= (SELECT min(day_start) FROM r_live) AND ts < (SELECT max(day_end) FROM r_live)) AS k
        ASOF INNER JOIN (SELECT DISTINCT campaign_id, day, day_start, day_end FROM r_live) AS d
          ON k.campaign_id = d.campaign_id AND k.ts >= d.day_start
       WHERE k.ts < d.day_end),
    -- each click with each cost row it matches, and each cost row once (is_click 0), in one stream:
    -- a row's clicks are counted over it, so the rows no click matches come out of the same pass
    shares AS (
      SELECT *, sum(is_click) OVER (PARTITION BY upload_id, line) AS clicks FROM (
        SELECT ${clickColumns}, k.ts AS ts, r.upload_id AS upload_id, r.line AS line, r.spend AS spend, 1 AS is_click
          FROM k_days AS k
          INNER JOIN r_live AS r ON k.campaign_id = r.campaign_id AND k.day = r.day AND ${keywordsEqual}
         WHERE ${costMatchSql}
        UNION ALL
        SELECT ${rowColumns}, day_start AS ts, upload_id, line, spend, 0 AS is_click FROM r_live))
  SELECT * FROM (
    SELECT ${columns.join(', ')}, ts, -toDecimal128(cost, 12) AS cost_delta FROM k_days
    UNION ALL
    SELECT ${columns.join(', ')}, ts,
           if(is_click = 1, toDecimal128(spend, 12) / greatest(clicks, 1), if(clicks = 0, toDecimal128(spend, 12), toDecimal128(0, 12))) AS cost_delta
      FROM shares)`;
}
