import type { Warehouse } from './warehouse.js';

/**
 * The click of each platform click id ClickHouse knows (schema/009_platform_clicks.sql): the
 * first one when two clicks carry the same id.
 */
export async function findPlatformClicks(wh: Warehouse, platformIds: readonly string[]): Promise<Map<string, bigint>> {
  if (platformIds.length === 0) return new Map();
  const rows = await wh.query<{ platform_click_id: string; click_id: string }>(
    'SELECT platform_click_id, toString(min(click_id)) AS click_id FROM platform_clicks WHERE platform_click_id IN {ids:Array(String)} GROUP BY platform_click_id',
    { ids: platformIds },
  );
  return new Map(rows.map((r) => [r.platform_click_id, BigInt(r.click_id)]));
}
