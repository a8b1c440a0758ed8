import { describe, expect, it } from 'vitest';
import type { ConversionStatus } from '../../admin/network-schema.js';
import { ConversionLedger, conversionKey, type Incoming } from '../../ingest/conversion-ledger.js';

const money = { accountCurrency: 'USD', revenueOf: (amount: bigint, currency: string) => (currency === 'EUR' ? (amount * 11n) / 10n : amount) };

describe('conversion ledger', () => {
  let version = 0n;
  const incoming = (status: ConversionStatus, amount: bigint | undefined, extra: Partial<Incoming> = {}): Incoming => ({
    key: conversionKey(1n, '', 'T'),
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
    ledger.load('k', state);
    ledger.load('k', { ...state, status: 'lead', version: 3n });
    expect(ledger.size).toBe(1);
    expect(ledger.decide({ ...incoming('sale', 1n), key: 'k' }).outcome).toBe('duplicate');
  });
});
