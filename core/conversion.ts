/**
 * The conversion vocabulary every part of keyrev shares: statuses, what a postback did to its
 * conversion, a conversion's state, and the event published once a postback is durable.
 */

/** The statuses keyrev keeps; every word or code a network sends maps onto one of them. */
export const conversionStatuses = ['lead', 'sale', 'rejected', 'rebill', 'chargeback'] as const;
export type ConversionStatus = (typeof conversionStatuses)[number];

/**
 * What a repeated postback (same click, type and transaction id, same status) means:
 * ignore it as a retry, count it as a new conversion, update the payout, or add its payout.
 */
export const duplicatePolicies = ['ignore', 'new', 'update', 'add'] as const;
export type DuplicatePolicy = (typeof duplicatePolicies)[number];

/** What an accepted postback did: the first four change the conversion, the last two change nothing. */
export type Outcome = 'new' | 'transition' | 'update' | 'add' | 'duplicate' | 'stale';

/** A conversion as it stands: what reports count for its click, type and transaction id. */
export interface ConversionState {
  status: ConversionStatus;
  amountMicros: bigint;
  currency: string;
  revenueMicros: bigint;
  /** The network of its first postback; a conversion does not move between networks. */
  network: string;
  /** Its first postback's time: a later status change does not move it to another day. */
  convertedAtMs: number;
  /** The id of the postback that set this state; VersionedCollapsingMergeTree's version. */
  version: bigint;
}

/** A conversion as ClickHouse has it, for keys the postback ledger does not know. */
export interface StoredConversion {
  clickId: bigint;
  type: string;
  txid: string;
  state: ConversionState;
}

/**
 * Published after a postback is durably recorded and decided, in the order of decision. `state`
 * is the conversion after the postback (for a duplicate or stale retry: as it was, unchanged),
 * `previous` before it. The click's ad, keyword and source are not here: they are in ClickHouse
 * (attributed_conversions), and a click may even arrive after its postback.
 */
export interface ConversionEvent {
  outcome: Outcome;
  postbackId: bigint;
  receivedAtMs: number;
  clickId: bigint;
  type: string;
  txid: string;
  /** The network slug the postback came through ('' for the global /postback). */
  network: string;
  state: ConversionState | undefined;
  previous: ConversionState | undefined;
}
