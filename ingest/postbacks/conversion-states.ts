import type { ConversionState, ConversionStatus } from '../../core/conversion.js';

const statuses: readonly ConversionStatus[] = ['lead', 'sale', 'rebill', 'rejected', 'chargeback'];
const statusIndex = new Map(statuses.map((s, i) => [s, i]));

/** Slots of one 10-minute click bucket, in the order they were filled; those before `start` are done. */
interface Bucket {
  slots: number[];
  start: number;
}

/**
 * The ledger's conversion states in flat typed arrays, one slot per conversion. A million states
 * as objects (three bigints and strings each, plus a Set entry per bucket) took ~450 MB that every
 * major garbage collection walked, and the collector then took a third of a bulk stream's time;
 * here the only objects per conversion are its key string and Map entry. Money fits in 64 bits:
 * amounts are at most Decimal(18, 6) (clamped where payouts add up).
 */
export class ConversionStates {
  private readonly slotOf = new Map<string, number>();
  private keys: (string | undefined)[] = [];
  private free: number[] = [];
  private status = new Uint8Array(0);
  private amount = new BigInt64Array(0);
  private revenue = new BigInt64Array(0);
  private version = new BigUint64Array(0);
  private convertedAt = new Float64Array(0);
  private currency = new Uint32Array(0);
  private network = new Uint32Array(0);
  private bucketOf = new Float64Array(0);
  /** Currency codes and network slugs, each stored once. */
  private readonly texts: string[] = [];
  private readonly textIds = new Map<string, number>();
  readonly buckets = new Map<number, Bucket>();

  get size(): number {
    return this.slotOf.size;
  }

  has(key: string): boolean {
    return this.slotOf.has(key);
  }

  get(key: string): ConversionState | undefined {
    const slot = this.slotOf.get(key);
    return slot === undefined ? undefined : this.read(slot);
  }

  /** Sets a key's state; a new key joins the bucket of its click. */
  set(key: string, state: ConversionState, bucket: number): void {
    let slot = this.slotOf.get(key);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.grow();
      this.slotOf.set(key, slot);
      this.keys[slot] = key;
      this.bucketOf[slot] = bucket;
      let b = this.buckets.get(bucket);
      if (!b) this.buckets.set(bucket, (b = { slots: [], start: 0 }));
      b.slots.push(slot);
    }
    this.status[slot] = statusIndex.get(state.status)!;
    this.amount[slot] = state.amountMicros;
    this.revenue[slot] = state.revenueMicros;
    this.version[slot] = state.version;
    this.convertedAt[slot] = state.convertedAtMs;
    this.currency[slot] = this.textId(state.currency);
    this.network[slot] = this.textId(state.network);
  }

  delete(key: string): void {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return;
    this.slotOf.delete(key);
    this.keys[slot] = undefined;
    this.free.push(slot);
  }

  /** The key and state in a bucket's slot, or undefined when the slot was emptied or reused since. */
  entry(slot: number, bucket: number): { key: string; version: bigint } | undefined {
    const key = this.keys[slot];
    return key === undefined || this.bucketOf[slot] !== bucket ? undefined : { key, version: this.version[slot]! };
  }

  private read(slot: number): ConversionState {
    return {
      status: statuses[this.status[slot]!]!,
      amountMicros: this.amount[slot]!,
      currency: this.texts[this.currency[slot]!]!,
      revenueMicros: this.revenue[slot]!,
      network: this.texts[this.network[slot]!]!,
      convertedAtMs: this.convertedAt[slot]!,
      version: this.version[slot]!,
    };
  }

  private textId(text: string): number {
    let id = this.textIds.get(text);
    if (id === undefined) {
      id = this.texts.push(text) - 1;
      this.textIds.set(text, id);
    }
    return id;
  }

  /** A new slot at the end, doubling the arrays when they are full. */
  private grow(): number {
    const slot = this.keys.length;
    this.keys.push(undefined);
    if (slot >= this.status.length) {
      const size = Math.max(1024, this.status.length * 2);
      const widen = <T extends Uint8Array | BigInt64Array | BigUint64Array | Float64Array | Uint32Array>(old: T, make: (n: number) => T): T => {
        const next = make(size);
        next.set(old as never);
        return next;
      };
      this.status = widen(this.status, (n) => new Uint8Array(n));
      this.amount = widen(this.amount, (n) => new BigInt64Array(n));
      this.revenue = widen(this.revenue, (n) => new BigInt64Array(n));
      this.version = widen(this.version, (n) => new BigUint64Array(n));
      this.convertedAt = widen(this.convertedAt, (n) => new Float64Array(n));
      this.currency = widen(this.currency, (n) => new Uint32Array(n));
      this.network = widen(this.network, (n) => new Uint32Array(n));
      this.bucketOf = widen(this.bucketOf, (n) => new Float64Array(n));
    }
    return slot;
  }
}
