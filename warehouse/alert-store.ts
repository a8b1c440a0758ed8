import { clickIdEpochMs } from '../core/click-id.js';
import { latestConversionSql } from './conversion-store.js';
import type { ParamValue, Warehouse } from './warehouse.js';

/** What a rule looks at: its scope (any of campaign, traffic source, keyword) and its window. */
export interface FigureScope {
  campaignId?: string | undefined;
  source?: string | undefined;
  keyword?: string | undefined;
}

export interface FigureRequest extends FigureScope {
  ruleId: string;
  windowMinutes: number;
}

/** A rule's figures over its window. */
export interface Figures {
  clicks: number;
  /** Conversions whose latest status counts as paid (sale or rebill). */
  paid: number;
  /** Leads, sales and rebills, as the reports' `conversions`. */
  conversions: number;
  revenue: number;
}

/**
 * The reports' definitions of the conversion sums, as SQL over a conversion row's `status`,
 * `revenue` and `sign` columns (or other SQL given for them). The analytics module owns them; the
 * alerts module passes them in, so that an alert and a report count a sale the same way.
 */
export interface ConversionSumsSql {
  paid(row: { status: string; sign: string }): string;
  conversions(row: { status: string; sign: string }): string;
  revenue(row: { status: string; sign: string }): string;
}

/** `AND column = {name:String}` for each scope field set; the values go into params. */
function scopeSql(scope: FigureScope, i: number, params: Record<string, ParamValue>): string {
  const columns = { campaignId: 'campaign_id', source: 'traffic_source', keyword: 'keyword' } as const;
  return (Object.keys(columns) as (keyof typeof columns)[])
    .filter((k) => scope[k] !== undefined)
    .map((k) => {
      params[`${k}${i}`] = scope[k]!;
      return ` AND ${columns[k]} = {${k}${i}:String}`;
    })
    .join('');
}

/**
 * Every rule's figures over its own window ending at `now`, in one query: per rule, its clicks and
 * its conversions (by conversion time, at their latest status: cancel rows subtract), stacked and
 * summed. Clicks are read by click id range (the table's order; ids sort by time), conversions by
 * their time. Windows are minutes, finer than the 15-minute rollups, so the raw tables answer.
 */
export async function ruleFigures(wh: Warehouse, requests: readonly FigureRequest[], sums: ConversionSumsSql, now: Date): Promise<Map<string, Figures>> {
  const out = new Map<string, Figures>();
  if (requests.length === 0) return out;
  const params: Record<string, ParamValue> = { to: now };
  const row = { status: 'status', sign: 'sign' };
  const parts = requests.flatMap((r, i) => {
    const fromMs = now.getTime() - r.windowMinutes * 60_000;
    params[`rule${i}`] = r.ruleId;
    params[`from${i}`] = new Date(fromMs);
    params[`minId${i}`] = (BigInt(Math.max(0, fromMs - clickIdEpochMs)) << 22n).toString();
    const scope = scopeSql(r, i, params);
    return [
      `SELECT {rule${i}:String} AS rule, toInt64(count()) AS clicks, toInt64(0) AS paid, toInt64(0) AS conversions, toDecimal128(0, 6) AS revenue
       FROM clicks WHERE click_id >= {minId${i}:UInt64} AND ts >= {from${i}:DateTime64(3)} AND ts < {to:DateTime64(3)}${scope}`,
      `SELECT {rule${i}:String}, toInt64(0), toInt64(sum(${sums.paid(row)})), toInt64(sum(${sums.conversions(row)})), toDecimal128(sum(${sums.revenue(row)}), 6)
       FROM attributed_conversions WHERE converted_at >= {from${i}:DateTime64(3)} AND converted_at < {to:DateTime64(3)}${scope}`,
    ];
  });
  const rows = await wh.query<{ rule: string; clicks: string; paid: string; conversions: string; revenue: string }>(
    `SELECT rule, sum(clicks) AS clicks, sum(paid) AS paid, sum(conversions) AS conversions, toString(sum(revenue)) AS revenue
     FROM (${parts.join('\nUNION ALL\n')}) GROUP BY rule`,
    params,
  );
  for (const r of rows) out.set(r.rule, { clicks: Number(r.clicks), paid: Number(r.paid), conversions: Number(r.conversions), revenue: Number(r.revenue) });
  return out;
}

/** Whether a table exists in keyrev's database (a module's migration may not be part of this build). */
export async function hasTable(wh: Warehouse, name: string): Promise<boolean> {
  const [row] = await wh.query<{ n: string }>('SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = {name:String}', { name });
  return Number(row?.n ?? 0) > 0;
}

/**
 * Outgoing postback attempts (outbound_attempts, written by the outbound module) in each rule's
 * window ending at `now`: all of them, and those that got no 2xx answer.
 */
export async function outgoingAttempts(wh: Warehouse, requests: readonly { ruleId: string; windowMinutes: number }[], now: Date): Promise<Map<string, { failed: number; total: number }>> {
  const out = new Map<string, { failed: number; total: number }>();
  if (requests.length === 0) return out;
  const params: Record<string, ParamValue> = { to: now };
  const parts = requests.map((r, i) => {
    params[`rule${i}`] = r.ruleId;
    params[`from${i}`] = new Date(now.getTime() - r.windowMinutes * 60_000);
    return `SELECT {rule${i}:String} AS rule, countIf(status_code < 200 OR status_code >= 300) AS failed, count() AS total
            FROM outbound_attempts WHERE at >= {from${i}:DateTime64(3)} AND at < {to:DateTime64(3)}`;
  });
  const rows = await wh.query<{ rule: string; failed: string; total: string }>(parts.join('\nUNION ALL\n'), params);
  for (const r of rows) out.set(r.rule, { failed: Number(r.failed), total: Number(r.total) });
  return out;
}

/** When the scope's last conversion that stands as paid now was made, within `lookbackMs`; for the alert's text. */
export async function lastPaidConversionMs(wh: Warehouse, scope: FigureScope, sums: ConversionSumsSql, now: Date, lookbackMs: number): Promise<number | undefined> {
  const params: Record<string, ParamValue> = { from: new Date(now.getTime() - lookbackMs) };
  const l = latestConversionSql;
  const [row] = await wh.query<{ at: string | null }>(
    `SELECT toString(toUnixTimestamp64Milli(max(conv_at))) AS at FROM (
       SELECT ${l.status} AS last_status, ${l.convertedAt} AS conv_at FROM attributed_conversions
       WHERE sign = 1 AND converted_at >= {from:DateTime64(3)}${scopeSql(scope, 0, params)}
       GROUP BY click_id, conversion_type, txid
     ) WHERE ${sums.paid({ status: 'last_status', sign: '1' })} > 0
     HAVING count() > 0`,
    params,
  );
  return row?.at ? Number(row.at) : undefined;
}

export interface IncidentRow {
  incidentId: string;
  ruleId: string;
  ruleName: string;
  condition: string;
  scope: string;
  state: 'firing' | 'resolved';
  value: number;
  figure: string;
  startedAt: Date;
  resolvedAt: Date | undefined;
  /** The version this state is written at: one above the state it was made from (warehouse/version.ts). */
  version: string;
}

interface StoredIncident {
  incident_id: string;
  rule_id: string;
  rule_name: string;
  condition: string;
  scope: string;
  state: 'firing' | 'resolved';
  value: number;
  figure: string;
  started_ms: string;
  resolved_ms: string | null;
  version: string;
}

const incidentSelect = `SELECT incident_id, rule_id, rule_name, condition, scope, state, value, figure,
  toString(toUnixTimestamp64Milli(started_at)) AS started_ms, toString(toUnixTimestamp64Milli(resolved_at)) AS resolved_ms,
  toString(version) AS version
  FROM alert_incidents FINAL`;

function toIncident(r: StoredIncident): IncidentRow {
  return {
    incidentId: r.incident_id,
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    condition: r.condition,
    scope: r.scope,
    state: r.state,
    value: Number(r.value),
    figure: r.figure,
    startedAt: new Date(Number(r.started_ms)),
    resolvedAt: r.resolved_ms === null ? undefined : new Date(Number(r.resolved_ms)),
    version: r.version,
  };
}

/** DateTime64 as ClickHouse reads it in any input format: UTC 'YYYY-MM-DD hh:mm:ss.sss'. */
const utcText = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');

/** Writes an incident's state at its version: a state made from this one (a higher version) replaces it. */
export async function saveIncident(wh: Warehouse, i: IncidentRow): Promise<void> {
  await wh.insert('alert_incidents', [
    {
      incident_id: i.incidentId,
      rule_id: i.ruleId,
      rule_name: i.ruleName,
      condition: i.condition,
      scope: i.scope,
      state: i.state,
      value: i.value,
      figure: i.figure,
      started_at: utcText(i.startedAt),
      resolved_at: i.resolvedAt ? utcText(i.resolvedAt) : null,
      version: i.version,
    },
  ]);
}

/** The incidents still firing, whatever process opened them (a restart picks them up here). */
export async function firingIncidents(wh: Warehouse): Promise<IncidentRow[]> {
  return (await wh.query<StoredIncident>(`${incidentSelect} WHERE state = 'firing'`)).map(toIncident);
}

/** Incidents resolved since `from`: a check sends the recovery of any that has none recorded. */
export async function resolvedSince(wh: Warehouse, from: Date): Promise<IncidentRow[]> {
  return (await wh.query<StoredIncident>(`${incidentSelect} WHERE state = 'resolved' AND resolved_at >= {from:DateTime64(3)}`, { from })).map(toIncident);
}

/** Incidents that overlap [from, to), newest first. */
export async function incidentsBetween(wh: Warehouse, from: Date, to: Date, limit: number): Promise<IncidentRow[]> {
  const rows = await wh.query<StoredIncident>(
    `${incidentSelect} WHERE started_at < {to:DateTime64(3)} AND (resolved_at IS NULL OR resolved_at >= {from:DateTime64(3)})
     ORDER BY started_at DESC, incident_id LIMIT {limit:UInt32}`,
    { from, to, limit },
  );
  return rows.map(toIncident);
}

export interface DeliveryRow {
  incidentId: string;
  event: 'alert' | 'recovery';
  channelId: string;
  channelType: string;
  ok: boolean;
  attempts: number;
  detail: string;
  sentAt: Date;
}

export async function saveDeliveries(wh: Warehouse, rows: readonly DeliveryRow[]): Promise<void> {
  if (rows.length === 0) return;
  await wh.insert(
    'alert_deliveries',
    rows.map((d) => ({
      incident_id: d.incidentId,
      event: d.event,
      channel_id: d.channelId,
      channel_type: d.channelType,
      ok: d.ok ? 1 : 0,
      attempts: d.attempts,
      detail: d.detail,
      sent_at: utcText(d.sentAt),
    })),
  );
}

export async function deliveriesOf(wh: Warehouse, incidentIds: readonly string[]): Promise<DeliveryRow[]> {
  if (incidentIds.length === 0) return [];
  const rows = await wh.query<{ incident_id: string; event: 'alert' | 'recovery'; channel_id: string; channel_type: string; ok: number; attempts: number; detail: string; sent_ms: string }>(
    `SELECT incident_id, event, channel_id, channel_type, ok, attempts, detail, toString(toUnixTimestamp64Milli(sent_at)) AS sent_ms
     FROM alert_deliveries WHERE incident_id IN {ids:Array(String)} ORDER BY sent_at`,
    { ids: incidentIds },
  );
  return rows.map((r) => ({
    incidentId: r.incident_id,
    event: r.event,
    channelId: r.channel_id,
    channelType: r.channel_type,
    ok: Number(r.ok) === 1,
    attempts: Number(r.attempts),
    detail: r.detail,
    sentAt: new Date(Number(r.sent_ms)),
  }));
}
