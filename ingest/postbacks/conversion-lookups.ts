import { clickIdMs } from '../../core/click-id.js';
import type { StoredConversion } from '../../core/conversion.js';
import { conversionKey, type ConversionLedger } from './conversion-ledger.js';

/**
 * Loads into the ledger what ClickHouse knows of conversions the ledger forgot or never held (a
 * chargeback months late). One lookup per key at a time, concurrent retries wait for the same one,
 * and the keys asked for in one event-loop turn share one query.
 */
export class ConversionLookups {
  private readonly pending = new Map<string, Promise<void>>();
  private batch: { clickIds: Set<bigint>; keys: string[]; done: Promise<void> } | undefined;

  constructor(
    private readonly ledger: ConversionLedger,
    private readonly findConversions: (clickIds: readonly bigint[]) => Promise<StoredConversion[]>,
    /** Called once per query, for metrics. */
    private readonly onQuery: () => void,
  ) {}

  /** Resolves once the key's conversions are in the ledger; rejects with WarehouseError while ClickHouse cannot answer. */
  lookUp(key: string, clickId: bigint): Promise<void> {
    const pending = this.pending.get(key);
    if (pending) return pending;
    const batch = (this.batch ??= this.startBatch());
    batch.clickIds.add(clickId);
    batch.keys.push(key);
    this.pending.set(key, batch.done);
    return batch.done;
  }

  private startBatch(): NonNullable<ConversionLookups['batch']> {
    const clickIds = new Set<bigint>();
    const keys: string[] = [];
    const done = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        this.batch = undefined;
        this.onQuery();
        return this.findConversions([...clickIds]);
      })
      .then((found) => {
        for (const c of found) this.ledger.load(conversionKey(c.clickId, c.type, c.txid), c.state, clickIdMs(c.clickId));
      })
      .finally(() => {
        for (const key of keys) this.pending.delete(key);
      });
    return { clickIds, keys, done };
  }
}
