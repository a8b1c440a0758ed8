import type { ConversionState, ConversionStatus, DuplicatePolicy, Outcome } from '../../core/conversion.js';
import { clickIdMs } from '../../core/click-id.js';
import { ConversionStates } from './conversion-states.js';
import { ForgottenKeys } from './forgotten-keys.js';
import { clampMicros } from '../../core/money.js';

export interface Incoming {
  key: string;
  /** When its click happened (from the click id): the ledger forgets old clicks first. */
  clickMs: number;
  status: ConversionStatus;
  /** undefined when the postback carried no amount: a status change keeps the old payout. */
  amountMicros: bigint | undefined;
  currency: string;
  network: string;
  atMs: number;
  version: bigint;
  policy: DuplicatePolicy;
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

export interface LedgerLimits {
  /** Conversions kept in memory; past it, those of the oldest clicks are forgotten. */
  maxEntries: number;
  /** Postbacks from this time on may still be in the spool, not in ClickHouse: never forgotten. */
  unflushedSince(): number;
}

/** Conversions are forgotten by the 10 minutes of their click, oldest first. */
const bucketMs = 600_000;
/**
 * Forgotten keys are kept in Bloom filters of four times maxEntries keys each (about 7 MB per
 * million entries), four of them, one false positive in a thousand per filter.
 */
const forgottenPerEntry = 4;

/**
 * The current state of conversions, so that a postback is decided (new, transition,
 * duplicate...) synchronously, before its acknowledgement: two retries racing on the event loop
 * cannot both count. Memory is bounded: past maxEntries the conversions of the oldest clicks are
 * forgotten (never one whose postback is still in the spool), their keys kept only in Bloom
 * filters. A key that is not here is certainly new when the filters cannot have it (see
 * ForgottenKeys, which also keeps the horizon); otherwise it must be looked up in ClickHouse
 * first (knows() says which), as for a chargeback months late.
 */
export class ConversionLedger {
  private readonly states = new ConversionStates();
  private readonly forgotten: ForgottenKeys;
  /** Size at which to forget next; moves up when everything is pinned (ClickHouse down for long). */
  private forgetAt: number;

  constructor(
    private readonly money: { accountCurrency: string; revenueOf(amountMicros: bigint, currency: string): bigint },
    private readonly limits: LedgerLimits = { maxEntries: Infinity, unflushedSince: () => 0 },
  ) {
    this.forgetAt = limits.maxEntries;
    this.forgotten = new ForgottenKeys(Number.isFinite(limits.maxEntries) ? limits.maxEntries * forgottenPerEntry : 1);
  }

  get size(): number {
    return this.states.size;
  }

  /** Whether a decision on this key can be made from memory alone. */
  knows(key: string, clickMs: number): boolean {
    return this.states.has(key) || !this.forgotten.mayHold(key, clickMs);
  }

  /** Conversions of clicks before this time may have been forgotten (loaded only in part). */
  forgetBefore(ms: number): void {
    this.forgotten.forgetBefore(ms);
  }

  load(key: string, state: ConversionState, clickMs: number): void {
    const known = this.states.get(key);
    if (!known || known.version < state.version) this.set(key, state, clickMs);
  }

  decide(p: Incoming): Decision {
    const prev = this.states.get(p.key);
    const next = this.nextState(prev, p);
    if (!('state' in next)) return { outcome: next.outcome, prev, next: prev };
    this.set(p.key, next.state, p.clickMs);
    if (this.states.size > this.forgetAt) this.forgetOldest();
    return { outcome: next.outcome, prev, next: next.state };
  }

  /** Takes a decision back when its postback could not be made durable (nothing was acknowledged). */
  undo(key: string, d: Decision): void {
    if (!d.next || this.states.get(key)?.version !== d.next.version) return;
    if (d.prev) this.states.set(key, d.prev, 0); // the key is there: its bucket stays
    else this.states.delete(key);
  }

  private set(key: string, state: ConversionState, clickMs: number): void {
    this.states.set(key, state, Math.floor(clickMs / bucketMs));
  }

  /**
   * Forgets the oldest clicks' conversions down to 90% of the limit (so this runs rarely). Within
   * a bucket, slots are in the order they were decided: the first one still in the spool ends
   * that bucket's turn, as most after it are newer still.
   */
  private forgetOldest(): void {
    const target = Math.floor(this.limits.maxEntries * 0.9);
    const pinnedSince = this.limits.unflushedSince();
    const buckets = this.states.buckets;
    for (const id of [...buckets.keys()].sort((a, b) => a - b)) {
      const bucket = buckets.get(id)!;
      for (; bucket.start < bucket.slots.length && this.states.size > target; bucket.start++) {
        const entry = this.states.entry(bucket.slots[bucket.start]!, id);
        if (!entry) continue;
        if (clickIdMs(entry.version) >= pinnedSince) break;
        this.forgotten.add(entry.key, (id + 1) * bucketMs - 1);
        this.states.delete(entry.key);
      }
      if (bucket.start === bucket.slots.length) buckets.delete(id);
      else if (bucket.start > 4096 && bucket.start * 2 > bucket.slots.length) {
        bucket.slots = bucket.slots.slice(bucket.start);
        bucket.start = 0;
      }
      if (this.states.size <= target) break;
    }
    this.forgetAt = this.states.size <= target ? this.limits.maxEntries : Math.ceil(this.states.size * 1.1);
  }

  /** The state a decision leads to; `base` is the conversion it changes (its network and time stay). */
  private fresh(p: Incoming, amount: bigint, currency: string, status: ConversionStatus, base?: ConversionState): ConversionState {
    return {
      status,
      amountMicros: amount,
      currency,
      revenueMicros: this.money.revenueOf(amount, currency),
      network: base?.network ?? p.network,
      convertedAtMs: base?.convertedAtMs ?? p.atMs,
      version: p.version,
    };
  }

  private nextState(
    prev: ConversionState | undefined,
    p: Incoming,
  ): { outcome: 'duplicate' | 'stale' } | { outcome: Exclude<Outcome, 'duplicate' | 'stale'>; state: ConversionState } {
    const amount = p.amountMicros ?? 0n;
    if (!prev || p.policy === 'new' && p.status === prev.status) return { outcome: 'new', state: this.fresh(p, amount, p.currency, p.status) };

    const repeatsStatus = p.status === prev.status || (p.status === 'rebill' && prev.status === 'sale');
    if (repeatsStatus && (p.status === 'rebill' || p.policy === 'add')) {
      // Adding to a payout in another currency: the sum is kept in the account currency.
      if (p.currency === prev.currency) return { outcome: 'add', state: this.fresh(p, clampMicros(prev.amountMicros + amount), prev.currency, prev.status, prev) };
      const revenue = clampMicros(prev.revenueMicros + this.money.revenueOf(amount, p.currency));
      return { outcome: 'add', state: this.fresh(p, revenue, this.money.accountCurrency, prev.status, prev) };
    }
    if (p.status === prev.status) {
      const changed = p.amountMicros !== undefined && (p.amountMicros !== prev.amountMicros || p.currency !== prev.currency);
      return p.policy === 'update' && changed ? { outcome: 'update', state: this.fresh(p, amount, p.currency, prev.status, prev) } : { outcome: 'duplicate' };
    }
    if (stage[p.status] <= stage[prev.status]) return { outcome: 'stale' };
    const keepsAmount = p.amountMicros === undefined;
    return {
      outcome: 'transition',
      state: this.fresh(p, keepsAmount ? prev.amountMicros : amount, keepsAmount ? prev.currency : p.currency, p.status, prev),
    };
  }
}
