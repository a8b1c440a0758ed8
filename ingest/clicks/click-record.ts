/**
 * What the click endpoint spools: the request as it came, with what only the request path
 * knows (id, time, campaign facts). Parsing, enrichment and the ClickHouse row are made later,
 * off the request path, by the row encoder (ingest/clicks/click-rows.ts).
 */
export interface ClickRecord {
  /** click id, decimal */
  id: string;
  /** milliseconds since the epoch, the click id's time */
  ts: number;
  /** campaign id as requested */
  campaign: string;
  /** the campaign's traffic source ('' when missed) */
  source: string;
  /** 1 when the campaign was unknown or paused */
  missed: 0 | 1;
  /** cost from the campaign's cost model, used when the link passes none */
  modelCost: string;
  /** the campaign's maxLinkCost: a link's cost= above it is ignored (absent in records written before the cap: defaultMaxLinkCost) */
  maxLinkCost?: number;
  /** the raw query string, without '?' */
  query: string;
  ip: string;
  userAgent: string;
  referrer: string;
  /** the trusted country header's value, when one is configured */
  countryHint?: string;
}

/** The same record as keyrev 0.1 wrote it, with short names: a spool left by it is still replayed. */
interface ShortNamedClickRecord {
  id: string;
  ts: number;
  c: string;
  src: string;
  missed: 0 | 1;
  mc: string;
  q: string;
  ip: string;
  ua: string;
  ref: string;
  cc?: string;
}

/** One spool line as a record, whichever version wrote it; throws on a line that is not JSON. */
export function readClickRecord(line: string): ClickRecord {
  const r = JSON.parse(line) as ClickRecord | ShortNamedClickRecord;
  if (!('c' in r)) return r;
  const { id, ts, c, src, missed, mc, q, ip, ua, ref, cc } = r;
  return { id, ts, campaign: c, source: src, missed, modelCost: mc, query: q, ip, userAgent: ua, referrer: ref, ...(cc === undefined ? {} : { countryHint: cc }) };
}

/**
 * The cap of a link's cost= for a record that carries none (spooled before the cap existed), the
 * same as a campaign's default maxLinkCost (admin/campaign-schema.ts).
 */
export const defaultMaxLinkCost = 100;

/**
 * The click's cost: the link's `cost=` (already parsed) when there is one within the campaign's
 * cap, else the cost model's. The link is the visitor's to edit, so it cannot set any cost it likes.
 */
export function clickCost(linkCost: string | undefined, modelCost: string, maxLinkCost: number = defaultMaxLinkCost): string {
  return linkCost !== undefined && Number(linkCost) <= maxLinkCost ? linkCost : modelCost;
}

/** Bounds on what is spooled per click: the row encoder bounds each field further. */
export const recordLimits = { query: 16_384, userAgent: 1_024, referrer: 1_024 } as const;
