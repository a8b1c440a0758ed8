import type { ConversionStatus, Network, PostbackField } from '../admin/network-schema.js';
import { currencyPattern } from '../server/schemas.js';
import { parseClickId } from './click-id.js';
import { isUnfilledMacro } from './click-params.js';
import { parseAmount } from './money.js';

/** The parameter names of each field when a network's settings do not name their own (CONTRACT.md). */
export const defaultPostbackParams: Record<PostbackField, readonly string[]> = {
  clickId: ['cid', 'clickid', 'click_id', 'subid', 'sub_id', 'cnv_id', 'hit', 'aff_sub', 's2'],
  amount: ['payout', 'amount', 'sum', 'revenue', 'rev', 'commission', 'price', 'money', 'profit'],
  txid: ['txid', 'tid', 'tx', 'transaction_id', 'transactionid', 'order_id', 'orderid', 'oid'],
  status: ['status', 'cnv_status'],
  currency: ['currency'],
  type: ['et', 'type', 'goal', 'event'],
};

/** Words networks use for each status; a network's statusMap comes first (numeric codes differ per network). */
const statusWords: Record<string, ConversionStatus> = Object.fromEntries(
  (
    [
      ['lead', ['lead', 'pending', 'pend', 'hold', 'on_hold', 'waiting', 'registration', 'reg', 'signup']],
      ['sale', ['sale', 'approved', 'approve', 'confirmed', 'confirm', 'paid', 'completed', 'complete', 'success', 'deposit', 'ftd']],
      ['rejected', ['rejected', 'reject', 'declined', 'decline', 'reversed', 'reversal', 'cancelled', 'canceled', 'trash', 'fraud', 'invalid']],
      ['rebill', ['rebill', 'recurring', 'renewal']],
      ['chargeback', ['chargeback', 'refund', 'refunded']],
    ] as const
  ).flatMap(([status, words]) => words.map((w) => [w, status])),
);

/** Parameters that authenticate a postback; they are never stored with it. */
export const secretParams = new Set(['secret', 'key', 'token', 'signature', 'sig']);

export const postbackLimits = { txid: 256, type: 64, storedParams: 50, storedValue: 512 } as const;

export type RefusalReason =
  | 'missing_click_id'
  | 'bad_click_id'
  | 'bad_amount'
  | 'unknown_status'
  | 'bad_currency'
  | 'bad_txid'
  | 'bad_type'
  | 'bad_body'
  | 'unknown_network'
  | 'bad_secret'
  | 'ip_not_allowed'
  | 'bad_signature';

/** A refused postback: the HTTP status, a stable reason (metrics, log) and the one-line message. */
export interface Refusal {
  status: 400 | 403 | 404 | 413;
  reason: RefusalReason;
  message: string;
}

export const refuse = (status: Refusal['status'], reason: RefusalReason, message: string): Refusal => ({ status, reason, message });

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

/**
 * Reads a postback's fields from its parameters (query, form or JSON body, merged; names compared
 * in lower case) with the network's names and status codes. A value that is an unfilled macro
 * counts as absent: `payout={payout}` is no payout, not a bad one.
 */
export function readPostback(params: ReadonlyMap<string, string>, network: Network | undefined): PostbackFields | Refusal {
  const lower = new Map<string, string>();
  for (const [name, value] of params) {
    const key = name.toLowerCase();
    const trimmed = value.trim();
    if (trimmed !== '' && !lower.has(key) && !isUnfilledMacro(trimmed)) lower.set(key, trimmed);
  }
  const names = network ? namesOf(network) : defaultPostbackParams;
  /** The lower-case names a field was read from, left out of the stored parameters. */
  const used: string[] = [];
  const find = (field: PostbackField): string | undefined => {
    for (const name of names[field]) {
      const value = lower.get(name);
      if (value !== undefined) {
        used.push(name);
        return value;
      }
    }
    return undefined;
  };

  const rawClickId = find('clickId');
  if (rawClickId === undefined) return refuse(400, 'missing_click_id', 'missing click id');
  const clickId = parseClickId(rawClickId);
  if (clickId === undefined) return refuse(400, 'bad_click_id', `bad click id: ${preview(rawClickId)}`);

  const rawAmount = find('amount');
  const amountMicros = rawAmount === undefined ? undefined : parseAmount(rawAmount);
  if (rawAmount !== undefined && amountMicros === undefined) return refuse(400, 'bad_amount', `bad amount: ${preview(rawAmount)}`);

  const rawStatus = find('status');
  const status = rawStatus === undefined ? 'sale' : statusOf(rawStatus, network);
  if (status === undefined) return refuse(400, 'unknown_status', `unknown status: ${preview(rawStatus!)} (map it in the network's statusMap)`);

  const rawCurrency = find('currency');
  if (rawCurrency !== undefined && !currencyPattern.test(rawCurrency)) return refuse(400, 'bad_currency', `bad currency: ${preview(rawCurrency)}`);
  const currency = (rawCurrency ?? network?.currency ?? '').toUpperCase();

  const txid = find('txid') ?? '';
  if (txid.length > postbackLimits.txid) return refuse(400, 'bad_txid', `transaction id longer than ${postbackLimits.txid} characters`);
  const type = find('type') ?? '';
  if (type.length > postbackLimits.type) return refuse(400, 'bad_type', `conversion type longer than ${postbackLimits.type} characters`);

  const extra: Record<string, string> = {};
  let kept = 0;
  for (const [name, value] of params) {
    const key = name.toLowerCase();
    if (secretParams.has(key) || used.includes(key) || name in extra) continue;
    if (kept++ >= postbackLimits.storedParams) break;
    extra[name] = value.slice(0, postbackLimits.storedValue);
  }
  return { clickId, amountMicros, txid, status, currency, type, extra };
}

const lowerNames = new WeakMap<Network, Record<PostbackField, readonly string[]>>();

/** A network's parameter names per field, lower-cased once (names are compared in lower case). */
function namesOf(network: Network): Record<PostbackField, readonly string[]> {
  let names = lowerNames.get(network);
  if (!names) {
    const of = (field: PostbackField) => (network.params[field] ?? defaultPostbackParams[field]).map((n) => n.toLowerCase());
    names = { clickId: of('clickId'), amount: of('amount'), txid: of('txid'), status: of('status'), currency: of('currency'), type: of('type') };
    lowerNames.set(network, names);
  }
  return names;
}

function statusOf(raw: string, network: Network | undefined): ConversionStatus | undefined {
  const map = network?.statusMap;
  return map?.[raw] ?? map?.[raw.toLowerCase()] ?? statusWords[raw.toLowerCase()];
}

/** Enough of a bad value to recognise it in a one-line reason, never a whole payload. */
function preview(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

export function isRefusal(value: object): value is Refusal {
  return 'reason' in value;
}
