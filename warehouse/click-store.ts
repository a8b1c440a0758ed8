import type { Warehouse } from './warehouse.js';

/** One stored click, as ClickHouse returns it (64-bit ids as strings). */
export type StoredClick = Record<string, unknown> & { click_id: string };

/**
 * Looks a click up by id. The table is ordered by click_id, so this reads one granule; the
 * partition is picked from the id's time by ClickHouse's own pruning on `ts`.
 */
export async function findClick(wh: Warehouse, clickId: bigint): Promise<StoredClick | undefined> {
  const [row] = await wh.query<StoredClick>('SELECT * FROM clicks WHERE click_id = {id:UInt64} LIMIT 1', { id: clickId });
  return row;
}
