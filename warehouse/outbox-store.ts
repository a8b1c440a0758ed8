import { clockVersion } from './version.js';
import type { Warehouse } from './warehouse.js';

/**
 * The SQL of outgoing postbacks (schema/010_outbound.sql): the queue of conversions to tell
 * traffic sources about, the job's cursor over it, deliveries and their attempts.
 */

/** A row's place in outbound_queue's order; the cursor is the last one read. */
export interface QueueKey {
  queuedMs: number;
  clickId: string;
  type: string;
  txid: string;
  version: string;
}

/** A conversion state credited to its click, as queued. Money as decimal text, times as ms. */
export interface QueueRow {
  queued_ms: string;
  click_id: string;
  conversion_type: string;
  txid: string;
  network: string;
  status: string;
  amount_text: string;
  currency: string;
  revenue_text: string;
  converted_ms: string;
  version: string;
  campaign_id: string;
  traffic_source: string;
  ad: string;
  adgroup: string;
  keyword: string;
  match_type: string;
  utm_source: string;
  utm_medium: string;
  utm_campaign: string;
  utm_term: string;
  utm_content: string;
  sub1: string;
  sub2: string;
  sub3: string;
  sub4: string;
  sub5: string;
  sub6: string;
  sub7: string;
  sub8: string;
  sub9: string;
  sub10: string;
  gclid: string;
  msclkid: string;
}

export const deliveryStates = ['pending', 'retrying', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof deliveryStates)[number];

/** A delivery as stored: the request as rendered and where it stands. Times in ms. */
export interface DeliveryRow {
  id: string;
  ruleId: string;
  clickId: string;
  type: string;
  txid: string;
  status: string;
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
  state: DeliveryState;
  attempts: number;
  step: number;
  nextMs: number;
  createdMs: number;
  deliveredMs: number | undefined;
  lastStatus: number;
  lastError: string;
  /** The version this state is written at: one above the state it was made from (warehouse/version.ts). */
  version: string;
}

export interface AttemptRow {
  deliveryId: string;
  attempt: number;
  atMs: number;
  statusCode: number;
  latencyMs: number;
  error: string;
  answer: string;
}

const queueSelect = `SELECT toString(toUnixTimestamp64Milli(queued_at)) AS queued_ms, click_id, conversion_type, txid, network, status,
       toString(amount) AS amount_text, currency, toString(revenue) AS revenue_text,
       toString(toUnixTimestamp64Milli(converted_at)) AS converted_ms, version, campaign_id, traffic_source, ad, adgroup,
       keyword, match_type, utm_source, utm_medium, utm_campaign, utm_term, utm_content,
       sub1, sub2, sub3, sub4, sub5, sub6, sub7, sub8, sub9, sub10, gclid, msclkid
FROM outbound_queue`;
const queueOrder = '(queued_at, click_id, conversion_type, txid, version)';
const afterKey = `${queueOrder} > (fromUnixTimestamp64Milli({afterMs:Int64}, 'UTC'), {afterClick:UInt64}, {afterType:String}, {afterTxid:String}, {afterVersion:UInt64})`;

const keyParams = (k: QueueKey) => ({ afterMs: k.queuedMs, afterClick: k.clickId, afterType: k.type, afterTxid: k.txid, afterVersion: k.version });

export function queueKeyOf(r: QueueRow): QueueKey {
  return { queuedMs: Number(r.queued_ms), clickId: r.click_id, type: r.conversion_type, txid: r.txid, version: r.version };
}

/** Queue rows after a key (by the table's order), up to `toMs` when given, at most `limit`. */
export function readQueue(wh: Warehouse, after: QueueKey, limit: number, toMs?: number): Promise<QueueRow[]> {
  const upper = toMs === undefined ? '' : ` AND queued_at < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`;
  return wh.query<QueueRow>(
    `${queueSelect} WHERE queued_at >= fromUnixTimestamp64Milli({afterMs:Int64}, 'UTC') AND ${afterKey}${upper}
     ORDER BY queued_at, click_id, conversion_type, txid, version LIMIT {limit:UInt32}`,
    { ...keyParams(after), limit, ...(toMs === undefined ? {} : { toMs }) },
  );
}

export async function readCursor(wh: Warehouse, name: string): Promise<QueueKey | undefined> {
  const [row] = await wh.query<{ queued_ms: string; click_id: string; conversion_type: string; txid: string; row_version: string }>(
    `SELECT toString(toUnixTimestamp64Milli(queued_at)) AS queued_ms, click_id, conversion_type, txid, row_version
     FROM outbound_cursor FINAL WHERE name = {name:String}`,
    { name },
  );
  return row ? { queuedMs: Number(row.queued_ms), clickId: row.click_id, type: row.conversion_type, txid: row.txid, version: row.row_version } : undefined;
}

export function writeCursor(wh: Warehouse, name: string, key: QueueKey): Promise<void> {
  return wh.insert('outbound_cursor', [
    { name, queued_at: key.queuedMs, click_id: key.clickId, conversion_type: key.type, txid: key.txid, row_version: key.version, version: clockVersion().toString() },
  ]);
}

/** The extra click fields the queue does not carry: the fbclid and the traffic source's external_id. */
export async function clickExtras(wh: Warehouse, clickIds: readonly string[]): Promise<Map<string, { fbclid: string; externalId: string }>> {
  if (clickIds.length === 0) return new Map();
  const rows = await wh.query<{ cid: string; fbclid: string; external_id: string }>(
    `SELECT toString(click_id) AS cid, fbclid, extra['external_id'] AS external_id FROM clicks WHERE click_id IN {ids:Array(UInt64)}`,
    { ids: clickIds.map((id) => BigInt(id)) },
  );
  return new Map(rows.map((r) => [r.cid, { fbclid: r.fbclid, externalId: r.external_id }]));
}

export async function existingDeliveries(wh: Warehouse, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await wh.query<{ id: string }>('SELECT DISTINCT id FROM outbound_deliveries WHERE id IN {ids:Array(String)}', { ids });
  return new Set(rows.map((r) => r.id));
}

/** A DateTime64(3) value as JSON: an integer is read as its ticks, here milliseconds. */
const ticks = (ms: number) => Math.round(ms);

export function writeDeliveries(wh: Warehouse, rows: readonly DeliveryRow[]): Promise<void> {
  if (rows.length === 0) return Promise.resolve();
  return wh.insert(
    'outbound_deliveries',
    rows.map((d) => ({
      id: d.id,
      rule_id: d.ruleId,
      click_id: d.clickId,
      conversion_type: d.type,
      txid: d.txid,
      status: d.status,
      method: d.method,
      url: d.url,
      headers: d.headers,
      body: d.body,
      state: d.state,
      attempts: d.attempts,
      step: d.step,
      next_at: ticks(d.nextMs),
      created_at: ticks(d.createdMs),
      delivered_at: d.deliveredMs === undefined ? null : ticks(d.deliveredMs),
      last_status: d.lastStatus,
      last_error: d.lastError,
      version: d.version,
    })),
  );
}

export function writeAttempts(wh: Warehouse, rows: readonly AttemptRow[]): Promise<void> {
  if (rows.length === 0) return Promise.resolve();
  return wh.insert(
    'outbound_attempts',
    rows.map((a) => ({ delivery_id: a.deliveryId, attempt: a.attempt, at: ticks(a.atMs), status_code: a.statusCode, latency_ms: a.latencyMs, error: a.error, answer: a.answer })),
  );
}

interface StoredDelivery {
  id: string;
  rule_id: string;
  click_id: string;
  conversion_type: string;
  txid: string;
  status: string;
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
  state: DeliveryState;
  attempts: number;
  step: number;
  next_ms: string;
  created_ms: string;
  delivered_ms: string | null;
  last_status: number;
  last_error: string;
  version: string;
}

const deliverySelect = `SELECT id, rule_id, click_id, conversion_type, txid, status, method, url, headers, body, state, attempts, step,
       toString(toUnixTimestamp64Milli(next_at)) AS next_ms, toString(toUnixTimestamp64Milli(created_at)) AS created_ms,
       if(delivered_at IS NULL, NULL, toString(toUnixTimestamp64Milli(assumeNotNull(delivered_at)))) AS delivered_ms, last_status, last_error,
       toString(version) AS version
FROM outbound_deliveries FINAL`;

function toDelivery(r: StoredDelivery): DeliveryRow {
  return {
    id: r.id,
    ruleId: r.rule_id,
    clickId: r.click_id,
    type: r.conversion_type,
    txid: r.txid,
    status: r.status,
    method: r.method,
    url: r.url,
    headers: r.headers,
    body: r.body,
    state: r.state,
    attempts: Number(r.attempts),
    step: Number(r.step),
    nextMs: Number(r.next_ms),
    createdMs: Number(r.created_ms),
    deliveredMs: r.delivered_ms === null ? undefined : Number(r.delivered_ms),
    lastStatus: Number(r.last_status),
    lastError: r.last_error,
    version: r.version,
  };
}

/**
 * The open deliveries (pending, or waiting for a retry) a scan reaches: those created since
 * `sinceMs` (a range of the created_at index: a delivery's creation time never changes, so every
 * version of it is in or out together) and those a replay reopened since then, however old.
 */
const openSql = `SELECT * FROM (
  ${deliverySelect} WHERE created_at >= fromUnixTimestamp64Milli({sinceMs:Int64}, 'UTC') AND state IN ('pending', 'retrying')
  UNION ALL
  ${deliverySelect} WHERE id IN (SELECT id FROM outbound_replays WHERE at >= fromUnixTimestamp64Milli({sinceMs:Int64}, 'UTC')) AND state IN ('pending', 'retrying')
) ORDER BY toInt64(next_ms), id LIMIT 1 BY id`;

/** Open deliveries (see openSql), the soonest due first, at most `limit`. */
export async function openDeliveries(wh: Warehouse, sinceMs: number, limit: number): Promise<DeliveryRow[]> {
  const rows = await wh.query<StoredDelivery>(`${openSql} LIMIT {limit:UInt32}`, { sinceMs, limit });
  return rows.map(toDelivery);
}

/** How many deliveries are open (see openSql), and when the oldest of them was created. */
export async function openSummary(wh: Warehouse, sinceMs: number): Promise<{ count: number; oldestMs: number | undefined }> {
  const [row] = await wh.query<{ n: string; oldest: string }>(`SELECT toString(count()) AS n, toString(min(toInt64(created_ms))) AS oldest FROM (${openSql})`, { sinceMs });
  const count = Number(row?.n ?? 0);
  return { count, oldestMs: count === 0 ? undefined : Number(row!.oldest) };
}

/** Records that deliveries were reopened by a replay, for the open scan to find them however old they are. */
export function writeReplayed(wh: Warehouse, ids: readonly string[], atMs: number): Promise<void> {
  if (ids.length === 0) return Promise.resolve();
  return wh.insert('outbound_replays', ids.map((id) => ({ id, at: ticks(atMs) })));
}

export async function findDeliveries(wh: Warehouse, ids: readonly string[]): Promise<DeliveryRow[]> {
  if (ids.length === 0) return [];
  const rows = await wh.query<StoredDelivery>(`${deliverySelect} WHERE id IN {ids:Array(String)}`, { ids });
  return rows.map(toDelivery);
}

export interface DeliveryFilter {
  fromMs: number;
  toMs: number;
  state?: DeliveryState | undefined;
  ruleId?: string | undefined;
  limit: number;
}

/** Deliveries created in a time range, newest first, with their attempts (oldest first). */
export async function listDeliveries(wh: Warehouse, f: DeliveryFilter): Promise<{ delivery: DeliveryRow; attempts: AttemptRow[] }[]> {
  const rows = await wh.query<StoredDelivery>(
    `${deliverySelect}
     WHERE created_at >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND created_at < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')
       ${f.state ? 'AND state = {state:String}' : ''} ${f.ruleId ? 'AND rule_id = {ruleId:String}' : ''}
     ORDER BY created_at DESC, id LIMIT {limit:UInt32}`,
    { fromMs: f.fromMs, toMs: f.toMs, limit: f.limit, ...(f.state ? { state: f.state } : {}), ...(f.ruleId ? { ruleId: f.ruleId } : {}) },
  );
  const deliveries = rows.map(toDelivery);
  const attempts = deliveries.length === 0 ? [] : await wh.query<{ delivery_id: string; attempt: number; at_ms: string; status_code: number; latency_ms: number; error: string; answer: string }>(
    `SELECT delivery_id, attempt, toString(toUnixTimestamp64Milli(at)) AS at_ms, status_code, latency_ms, error, answer
     FROM outbound_attempts WHERE delivery_id IN {ids:Array(String)} ORDER BY delivery_id, at, attempt`,
    { ids: deliveries.map((d) => d.id) },
  );
  const byId = new Map<string, AttemptRow[]>();
  for (const a of attempts) {
    const list = byId.get(a.delivery_id) ?? [];
    list.push({ deliveryId: a.delivery_id, attempt: Number(a.attempt), atMs: Number(a.at_ms), statusCode: Number(a.status_code), latencyMs: Number(a.latency_ms), error: a.error, answer: a.answer });
    byId.set(a.delivery_id, list);
  }
  return deliveries.map((delivery) => ({ delivery, attempts: byId.get(delivery.id) ?? [] }));
}
