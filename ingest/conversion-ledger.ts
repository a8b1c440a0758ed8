import type { ConversionStatus, duplicatePolicies } from '../admin/network-schema.js';

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

export type Outcome = 'new' | 'transition' | 'update' | 'add' | 'duplicate' | 'stale';

export interface Incoming {
  key: string;
  status: ConversionStatus;
  /** undefined when the postback carried no amount: a status change keeps the old payout. */
  amountMicros: bigint | undefined;
  currency: string;
  network: string;
  atMs: number;
  version: bigint;
  policy: (typeof duplicatePolicies)[number];
}

export interface Decision {
  outcome: Outcome;
  prev: ConversionState | undefined;
  /** The state after the postback; the previous one for a duplicate or a stale retry. */
  next: ConversionState | undefined;
}

/**
 * How far along a conversion is. A postback may move it forward (lead -> sale -> rejected or
 * chargeback) but not back: a network retrying an old "lead" after the "sale" is stale.
 */
const stage: Record<ConversionStatus, number> = { lead: 0, sale: 1, rebill: 1, rejected: 2, chargeback: 3 };

export function conversionKey(clickId: bigint, type: string, txid: string): string {
  return `${clickId}\u0001${type}\u0001${txid}`;
}

/**
 * The current state of every conversion this process has seen, so that a postback is decided
 * (new, transition, duplicate...) synchronously, before its acknowledgement: two retries racing
 * on the event loop cannot both count. Loaded from ClickHouse on start, after the spool drained.
 */
export class ConversionLedger {
  private readonly states = new Map<string, ConversionState>();

  constructor(private readonly money: { accountCurrency: string; revenueOf(amountMicros: bigint, currency: string): bigint }) {}

  get size(): number {
    return this.states.size;
  }

  load(key: string, state: ConversionState): void {
    const known = this.states.get(key);
    if (!known || known.version < state.version) this.states.set(key, state);
  }

  decide(p: Incoming): Decision {
    const prev = this.states.get(p.key);
    const next = this.nextState(prev, p);
    if (!('state' in next)) return { outcome: next.outcome, prev, next: prev };
    this.states.set(p.key, next.state);
    return { outcome: next.outcome, prev, next: next.state };
  }

  /** Takes a decision back when its postback could not be made durable (nothing was acknowledged). */
  undo(key: string, d: Decision): void {
    if (!d.next || this.states.get(key) !== d.next) return;
    if (d.prev) this.states.set(key, d.prev);
    else this.states.delete(key);
  }

  private nextState(
    prev: ConversionState | undefined,
    p: Incoming,
  ): { outcome: 'duplicate' | 'stale' } | { outcome: Exclude<Outcome, 'duplicate' | 'stale'>; state: ConversionState } {
    const fresh = (amount: bigint, currency: string, status: ConversionStatus, base?: ConversionState): ConversionState => ({
      status,
      amountMicros: amount,
      currency,
      revenueMicros: this.money.revenueOf(amount, currency),
      network: base?.network ?? p.network,
      convertedAtMs: base?.convertedAtMs ?? p.atMs,
      version: p.version,
    });
    const amount = p.amountMicros ?? 0n;
    if (!prev || p.policy === 'new' && p.status === prev.status) return { outcome: 'new', state: fresh(amount, p.currency, p.status) };

    const repeatsStatus = p.status === prev.status || (p.status === 'rebill' && prev.status === 'sale');
    if (repeatsStatus && (p.status === 'rebill' || p.policy === 'add')) {
      // Adding to a payout in another currency: the sum is kept in the account currency.
      if (p.currency === prev.currency) return { outcome: 'add', state: fresh(prev.amountMicros + amount, prev.currency, prev.status, prev) };
      const revenue = prev.revenueMicros + this.money.revenueOf(amount, p.currency);
      return { outcome: 'add', state: fresh(revenue, this.money.accountCurrency, prev.status, prev) };
    }
    if (p.status === prev.status) {
      const changed = p.amountMicros !== undefined && (p.amountMicros !== prev.amountMicros || p.currency !== prev.currency);
      return p.policy === 'update' && changed ? { outcome: 'update', state: fresh(amount, p.currency, prev.status, prev) } : { outcome: 'duplicate' };
    }
    if (stage[p.status] <= stage[prev.status]) return { outcome: 'stale' };
    const keepsAmount = p.amountMicros === undefined;
    return {
      outcome: 'transition',
      state: fresh(keepsAmount ? prev.amountMicros : amount, keepsAmount ? prev.currency : p.currency, p.status, prev),
    };
  }
}
