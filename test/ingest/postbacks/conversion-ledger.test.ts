import { describe, expect, it } from 'vitest';
import type { ConversionStatus } from '../../../core/conversion.js';
import { ClickIdGenerator } from '../../../core/click-id.js';
import { ConversionLedger, conversionKey, type Incoming } from '../../../ingest/postbacks/conversion-ledger.js';

const money = { accountCurrency: 'USD', revenueOf: (amount: bigint, currency: string) => (currency === 'EUR' ? (amount * 11n) / 10n : amount) };

describe('conversion ledger', () => {
  let version = 0n;
  const incoming = (status: ConversionStatus, amount: bigint | undefined, extra: Partial<Incoming> = {}): Incoming => ({
    key: conversionKey(1n, '', 'T'),
    clickMs: 0,
    status,
    amountMicros: amount,
    currency: 'USD',
    network: 'n',
    atMs: 1_000 + Number(++version),
    version,
    policy: 'ignore',
    ...extra,
  });

  it('moves forward through statuses, never back, and keeps the first conversion time', () => {
    const ledger = new ConversionLedger(money);
    expect(ledger.decide(incoming('lead', undefined)).outcome).toBe('new');
    const sale = ledger.decide(incoming('sale', 40n));
    expect(sale.outcome).toBe('transition');
    expect(sale.prev).toMatchObject({ status: 'lead', amountMicros: 0n });
    expect(sale.next).toMatchObject({ status: 'sale', amountMicros: 40n, revenueMicros: 40n, convertedAtMs: sale.prev!.convertedAtMs });
    expect(ledger.decide(incoming('lead', undefined)).outcome).toBe('stale');
    expect(ledger.decide(incoming('sale', 40n)).outcome).toBe('duplicate');
    const chargeback = ledger.decide(incoming('chargeback', undefined));
    expect(chargeback).toMatchObject({ outcome: 'transition', next: { status: 'chargeback', amountMicros: 40n } });
    expect(ledger.decide(incoming('rejected', undefined)).outcome).toBe('stale');
  });

  it('applies the duplicate policies to a repeated status', () => {
    const under = (policy: Incoming['policy']) => {
      const ledger = new ConversionLedger(money);
      ledger.decide(incoming('sale', 10n, { policy }));
      return ledger.decide(incoming('sale', 5n, { policy }));
    };
    expect(under('ignore').outcome).toBe('duplicate');
    expect(under('update')).toMatchObject({ outcome: 'update', next: { amountMicros: 5n } });
    expect(under('add')).toMatchObject({ outcome: 'add', next: { amountMicros: 15n } });
    expect(under('new')).toMatchObject({ outcome: 'new', next: { amountMicros: 5n } });
  });

  it('adds a rebill to its sale, across currencies in the account currency', () => {
    const ledger = new ConversionLedger(money);
    ledger.decide(incoming('sale', 10n, { currency: 'EUR' }));
    expect(ledger.decide(incoming('rebill', 10n, { currency: 'EUR' }))).toMatchObject({ outcome: 'add', next: { status: 'sale', amountMicros: 20n, revenueMicros: 22n } });
    expect(ledger.decide(incoming('rebill', 5n))).toMatchObject({ outcome: 'add', next: { currency: 'USD', amountMicros: 27n, revenueMicros: 27n } });
  });

  it('holds added payouts within Decimal(18, 6), for ClickHouse to take the row', () => {
    const ledger = new ConversionLedger(money);
    const max = 10n ** 18n - 1n;
    ledger.decide(incoming('sale', max));
    for (let i = 0; i < 10; i++) ledger.decide(incoming('rebill', max));
    expect(ledger.decide(incoming('rebill', max, { currency: 'EUR' }))).toMatchObject({ outcome: 'add', next: { amountMicros: max, revenueMicros: max } });
  });

  it('takes a decision back when its postback was not made durable', () => {
    const ledger = new ConversionLedger(money);
    ledger.decide(incoming('lead', 1n));
    const sale = ledger.decide(incoming('sale', 2n));
    ledger.undo(conversionKey(1n, '', 'T'), sale);
    expect(ledger.decide(incoming('sale', 2n)).outcome).toBe('transition');
  });

  it('loads states, keeping the newest version of a key', () => {
    const ledger = new ConversionLedger(money);
    const state = { status: 'sale' as const, amountMicros: 1n, currency: 'USD', revenueMicros: 1n, network: '', convertedAtMs: 0, version: 5n };
    ledger.load('k', state, 0);
    ledger.load('k', { ...state, status: 'lead', version: 3n }, 0);
    expect(ledger.size).toBe(1);
    expect(ledger.decide({ ...incoming('sale', 1n), key: 'k' }).outcome).toBe('duplicate');
  });

  it('forgets the oldest click days past its limit, never what may still be in the spool, and says what it no longer knows', () => {
    const day = 86_400_000;
    const ids = new ClickIdGenerator(1);
    // Postbacks at or after pinnedSince may still be in the spool: 0 pins all of them.
    let pinnedSince = 0;
    const ledger = new ConversionLedger(money, { maxEntries: 10, unflushedSince: () => pinnedSince });
    const add = (clickDay: number, n: number) =>
      ledger.decide({ ...incoming('sale', 1n), key: `k${clickDay}-${n}`, clickMs: clickDay * day, version: ids.next().id });
    // Everything is pinned (still in the spool): nothing is forgotten, even past the limit.
    for (let n = 0; n < 6; n++) add(100, n);
    for (let n = 0; n < 6; n++) add(101, n);
    expect(ledger.size).toBe(12);
    // Once flushed, the oldest day goes first; its keys need a lookup, new keys do not.
    pinnedSince = Date.now() + day;
    for (let n = 0; n < 2; n++) add(102, n); // past 110% of the size where nothing could go
    expect(ledger.size).toBe(9);
    for (let n = 0; n < 5; n++) expect(ledger.knows(`k100-${n}`, 100 * day)).toBe(false);
    expect(ledger.knows('k101-5', 101 * day)).toBe(true);
    expect(ledger.knows('never-seen', 100 * day)).toBe(true);
  });

  it("forgets this hour's conversions too once they are in ClickHouse, and still decides fresh ones from memory", () => {
    const ids = new ClickIdGenerator(2);
    let pinnedSince = 0;
    // 100 entries: the 1,000 keys forgotten below fit in its filters.
    const ledger = new ConversionLedger(money, { maxEntries: 100, unflushedSince: () => pinnedSince });
    const add = (key: string) => ledger.decide({ ...incoming('sale', 1n), key, clickMs: Date.now(), version: ids.next().id });
    for (let n = 0; n < 120; n++) add(`pinned-${n}`);
    expect(ledger.size).toBe(120);
    pinnedSince = Date.now() + 86_400_000;
    for (let n = 0; n < 1_000; n++) add(`now-${n}`);
    expect(ledger.size).toBeLessThanOrEqual(110);
    expect(ledger.knows('now-0', Date.now())).toBe(false);
    expect(ledger.knows('now-999', Date.now())).toBe(true);
    expect(ledger.knows('never-seen', Date.now())).toBe(true);
  });

  it('claims few fresh keys as forgotten, and past its last filter looks up the oldest clicks instead', () => {
    const day = 86_400_000;
    const ids = new ClickIdGenerator(3);
    // Filters hold 4 x 250 forgotten keys each, four of them.
    const ledger = new ConversionLedger(money, { maxEntries: 250, unflushedSince: () => Date.now() + day });
    const add = (clickDay: number, key: string) => ledger.decide({ ...incoming('sale', 1n), key, clickMs: clickDay * day, version: ids.next().id });
    for (let n = 0; n < 1_000; n++) add(10, `a-${n}`);
    const claimed = Array.from({ length: 20_000 }, (_, n) => `fresh-${n}`).filter((key) => !ledger.knows(key, 10 * day)).length;
    expect(claimed).toBeLessThan(100); // one in a thousand per filter, measured against 20,000 keys
    for (let n = 0; n < 4_000; n++) add(20 + Math.floor(n / 1_000), `b-${n}`);
    // 4,750 keys forgotten: the first filter (day 10's 1,000) was dropped, so day 10 is looked up.
    expect(ledger.knows('never-seen', 10 * day)).toBe(false);
    expect(ledger.knows('never-seen', 20 * day)).toBe(true);
    expect(ledger.knows('b-0', 20 * day)).toBe(false);
    expect(ledger.knows('b-3999', 23 * day)).toBe(true);
  });
});
