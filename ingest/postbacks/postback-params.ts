import { KeyrevError } from '../../core/errors.js';
import type { ConversionStatus } from '../../core/conversion.js';
import type { Network, PostbackField } from './network-schema.js';
import { currencyPattern } from '../../core/schemas.js';
import { parseClickId } from '../../core/click-id.js';
import { isUnfilledMacro } from '../../core/query-string.js';
import { parseAmount } from '../../core/money.js';

/** The parameter names of each field when a network's settings do not name their own (also listed in docs/postbacks.md). */
export const defaultPostbackParams: Record<PostbackField, readonly string[]> = {
  clickId: ['cid', 'clickid', 'click_id', 'subid', 'sub_id', 'cnv_id', 'hit', 'aff_sub', 's2'],
  amount: ['payout', 'amount', 'sum', 'revenue', 'rev', 'commission', 'price', 'money', 'profit'],
  txid: ['txid', 'tid', 'tx', 'transaction_id', 'transactionid', 'order_id', 'orderid', 'oid'],
  status: ['status', 'cnv_status'],
  currency: ['currency'],
  type: ['et', 'type', 'goal', 'event'],
};

/** Words networks use for each status (lower case); a network's statusMap comes first (numeric codes differ per network). */
export const statusWords: Readonly<Record<string, ConversionStatus>> = Object.freeze(
  // No prototype: read by the sender's text, a plain object would answer `__proto__` or
  // `constructor` with Object.prototype's members (they were stored as statuses `{}` and `""`).
  Object.assign(
    Object.create(null) as Record<string, ConversionStatus>,
    Object.fromEntries(
      (
        [
          ['lead', ['lead', 'pending', 'pend', 'hold', 'on_hold', 'waiting', 'registration', 'reg', 'signup']],
          ['sale', ['sale', 'approved', 'approve', 'confirmed', 'confirm', 'paid', 'completed', 'complete', 'success', 'deposit', 'ftd']],
          ['rejected', ['rejected', 'reject', 'declined', 'decline', 'reversed', 'reversal', 'cancelled', 'canceled', 'trash', 'fraud', 'invalid']],
          ['rebill', ['rebill', 'recurring', 'renewal']],
          ['chargeback', ['chargeback', 'refund', 'refunded']],
        ] as const
      ).flatMap(([status, words]) => words.map((w) => [w, status])),
    ),
  ),
);

/** The same words as a Map, which is what a lookup by the sender's text uses. */
const statusWordIndex: ReadonlyMap<string, ConversionStatus> = new Map(Object.entries(statusWords));

/** Parameters that may carry a postback's secret, the first present counting. */
export const secretNames = ['secret', 'key', 'token'] as const;
/** Parameters that authenticate a postback (secret or signature); they are never stored with it. */
export const secretParams = new Set<string>([...secretNames, 'signature', 'sig']);

export const postbackLimits = { txid: 256, type: 64, storedParams: 50, storedValue: 512 } as const;

export type RefusalReason =
  | 'missing_click_id'
  | 'unknown_platform_click'
  | 'bad_click_id'
  | 'bad_amount'
  | 'negative_amount'
  | 'unknown_status'
  | 'bad_currency'
  | 'bad_txid'
  | 'bad_type'
  | 'bad_body'
  | 'unknown_network'
  | 'bad_secret'
  | 'ip_not_allowed'
  | 'bad_signature';

/** A refused postback: the error code, a stable reason (metrics, log) and the one-line message. */
export function refuse(code: 'KR_BAD_REQUEST' | 'KR_FORBIDDEN' | 'KR_NOT_FOUND', reason: RefusalReason, message: string): KeyrevError {
  return new KeyrevError(code, message, reason);
}

export interface PostbackFields {
  clickId: bigint;
  /** undefined when the postback names no amount (a status change keeps the payout it had). */
  amountMicros: bigint | undefined;
  txid: string;
  status: ConversionStatus;
  /** ISO 4217, upper case; '' when neither the postback nor the network names one. */
  currency: string;
  type: string;
  /** The postback's other parameters, kept with it (bounded; secrets left out). */
  extra: Record<string, string>;
}

/** Where a parameter name is read: the field (its place in fieldsInOrder), and its rank among that field's names (0 is read first). */
type NameIndex = ReadonlyMap<string, readonly { field: number; rank: number }[]>;

const fieldsInOrder = Object.keys(defaultPostbackParams) as PostbackField[];
const slot = Object.fromEntries(fieldsInOrder.map((f, i) => [f, i])) as Record<PostbackField, number>;

/**
 * readPostback's working space, one entry per field: the value found, the rank of the name it
 * came from, and that name. readPostback runs to completion, so one set serves every call, and a
 * bulk stream's lines allocate none.
 */
const found = {
  value: fieldsInOrder.map((): string | undefined => undefined),
  rank: new Float64Array(fieldsInOrder.length),
  from: fieldsInOrder.map((): string | undefined => undefined),
  /** Every parameter's name in lower case, in the order of the parameters. */
  keys: [] as string[],
};

/**
 * Reads a postback's fields from its parameters (query, form or JSON body, merged; names compared
 * in lower case) with the network's names and status codes. A value that is an unfilled macro
 * counts as absent: `payout={payout}` is no payout, not a bad one. Each field takes the value of
 * its first-ranked name present; parameters are walked once (this runs for every NDJSON line).
 * `platformClick`: the click its gclid (msclkid, wbraid, gbraid) names, used when it names no
 * keyrev click id (a network that only passes the ad platform's id through).
 */
export function readPostback(params: ReadonlyMap<string, string>, network: Network | undefined, platformClick?: bigint): PostbackFields | KeyrevError {
  const index = network ? indexOf(network) : defaultIndex;
  const { value, rank, from, keys } = found;
  value.fill(undefined);
  rank.fill(Infinity);
  from.fill(undefined);
  keys.length = 0;
  // forEach, not for-of: no [name, value] pair is made per parameter.
  params.forEach((raw, name) => {
    const key = name.toLowerCase();
    keys.push(key);
    const targets = index.get(key);
    if (targets === undefined) return;
    const trimmed = raw.trim();
    if (trimmed === '' || isUnfilledMacro(trimmed)) return;
    // Strictly better only: of two parameters with the same name in another case, the first counts.
    for (const t of targets) {
      if (t.rank < rank[t.field]!) {
        rank[t.field] = t.rank;
        value[t.field] = trimmed;
        from[t.field] = key;
      }
    }
  });

  const rawClickId = value[slot.clickId];
  if (rawClickId === undefined && platformClick === undefined) return refuse('KR_BAD_REQUEST', 'missing_click_id', 'missing click id');
  const clickId = rawClickId === undefined ? platformClick : parseClickId(rawClickId);
  if (clickId === undefined) return refuse('KR_BAD_REQUEST', 'bad_click_id', `bad click id: ${preview(rawClickId!)}`);

  const rawAmount = value[slot.amount];
  const amountMicros = rawAmount === undefined ? undefined : parseAmount(rawAmount);
  if (rawAmount !== undefined && amountMicros === undefined) return refuse('KR_BAD_REQUEST', 'bad_amount', `bad amount: ${preview(rawAmount)}`);

  const rawStatus = value[slot.status];
  const status = rawStatus === undefined ? 'sale' : statusOf(rawStatus, network);
  if (status === undefined) return refuse('KR_BAD_REQUEST', 'unknown_status', `unknown status: ${preview(rawStatus!)} (map it in the network's statusMap)`);
  // A negative payout would be stored as negative revenue; only a chargeback takes money back.
  if (amountMicros !== undefined && amountMicros < 0n && status !== 'chargeback') {
    return refuse('KR_BAD_REQUEST', 'negative_amount', `negative amount: ${preview(rawAmount!)} (only a chargeback may be negative)`);
  }

  const rawCurrency = value[slot.currency];
  if (rawCurrency !== undefined && !currencyPattern.test(rawCurrency)) return refuse('KR_BAD_REQUEST', 'bad_currency', `bad currency: ${preview(rawCurrency)}`);
  const currency = (rawCurrency ?? network?.currency ?? '').toUpperCase();

  const txid = value[slot.txid] ?? '';
  if (txid.length > postbackLimits.txid) return refuse('KR_BAD_REQUEST', 'bad_txid', `transaction id longer than ${postbackLimits.txid} characters`);
  const type = value[slot.type] ?? '';
  if (type.length > postbackLimits.type) return refuse('KR_BAD_REQUEST', 'bad_type', `conversion type longer than ${postbackLimits.type} characters`);

  // No prototype: a parameter named `__proto__` is kept as a key like any other, not taken as one.
  const extra: Record<string, string> = Object.create(null) as Record<string, string>;
  let kept = 0;
  let i = 0;
  params.forEach((raw, name) => {
    const key = keys[i++]!;
    if (kept >= postbackLimits.storedParams || secretParams.has(key) || from.includes(key)) return;
    kept++;
    extra[name] = raw.length > postbackLimits.storedValue ? raw.slice(0, postbackLimits.storedValue) : raw;
  });
  return { clickId, amountMicros, txid, status, currency, type, extra };
}

/** Never a postback's value, whatever a network's `params` say: a GET's signature does not cover them. */
const signatureNames = new Set(['signature', 'sig']);

function nameIndex(names: Record<PostbackField, readonly string[]>): NameIndex {
  const index = new Map<string, { field: number; rank: number }[]>();
  for (const [field, f] of fieldsInOrder.entries()) {
    names[f].forEach((name, rank) => {
      const key = name.toLowerCase();
      if (signatureNames.has(key)) return;
      const targets = index.get(key) ?? [];
      // A name listed twice for one field counts at its first place.
      if (!targets.some((t) => t.field === field)) targets.push({ field, rank });
      index.set(key, targets);
    });
  }
  return index;
}

const defaultIndex = nameIndex(defaultPostbackParams);
const networkIndexes = new WeakMap<Network, NameIndex>();

/** A network's names per field (its own, else the defaults), indexed once per settings object. */
function indexOf(network: Network): NameIndex {
  let index = networkIndexes.get(network);
  if (!index) {
    index = nameIndex(Object.fromEntries(fieldsInOrder.map((f) => [f, network.params[f] ?? defaultPostbackParams[f]])) as Record<PostbackField, readonly string[]>);
    networkIndexes.set(network, index);
  }
  return index;
}

const statusMaps = new WeakMap<Network, ReadonlyMap<string, ConversionStatus>>();

/** A network's statusMap as a Map of its own entries (once per settings object): looked up by the sender's text. */
function statusMapOf(network: Network): ReadonlyMap<string, ConversionStatus> {
  let map = statusMaps.get(network);
  if (!map) statusMaps.set(network, (map = new Map(Object.entries(network.statusMap))));
  return map;
}

function statusOf(raw: string, network: Network | undefined): ConversionStatus | undefined {
  const map = network ? statusMapOf(network) : undefined;
  const lower = raw.toLowerCase();
  return map?.get(raw) ?? map?.get(lower) ?? statusWordIndex.get(lower);
}

/** Enough of a bad value to recognise it in a one-line reason, never a whole payload. */
export function preview(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
