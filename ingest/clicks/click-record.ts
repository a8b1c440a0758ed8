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
  c: string;
  /** the campaign's traffic source ('' when missed) */
  src: string;
  /** 1 when the campaign was unknown or paused */
  missed: 0 | 1;
  /** cost from the campaign's cost model, used when the link passes none */
  mc: string;
  /** the raw query string, without '?' */
  q: string;
  ip: string;
  ua: string;
  ref: string;
  /** the trusted country header's value, when one is configured */
  cc?: string;
}

/** Bounds on what is spooled per click: the row encoder bounds each field further. */
export const recordLimits = { query: 16_384, userAgent: 1_024, referrer: 1_024 } as const;
