import { z } from 'zod';
import { convertMicros, parseRate } from '../core/money.js';
import { fail } from '../core/errors.js';
import { currencyCode, isoTimestamp } from '../core/schemas.js';
import type { SettingsStore } from '../warehouse/settings-store.js';

const rate = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .refine((v) => parseRate(v) !== undefined, 'must be a positive decimal with at most 12 decimals, e.g. "1.0834"');

/** `rates.EUR = "1.08"`: one euro is 1.08 of the account currency (`base`). */
export const currencyRatesInput = z.strictObject({
  base: currencyCode,
  rates: z.record(currencyCode, rate).refine((r) => Object.keys(r).length <= 400, 'at most 400 currencies'),
});

/** As stored and answered: rates are decimal strings by then (a response schema may not transform). */
export const currencyRatesDoc = z.object({
  id: z.literal('currency-rates'),
  base: currencyCode,
  rates: z.record(z.string(), z.string()),
  updatedAt: isoTimestamp,
});
export type CurrencyRatesDoc = z.infer<typeof currencyRatesDoc>;

/**
 * Exchange rates into the account currency (KEYREV_CURRENCY), loaded by the operator from a file
 * (KEYREV_RATES_FILE) or the API: keyrev assumes no network access to fetch them. A payout is
 * converted when its postback is accepted, at the rates of that moment, and kept in its own
 * currency too.
 */
export class CurrencyRates {
  constructor(
    readonly accountCurrency: string,
    private readonly store: SettingsStore<CurrencyRatesDoc>,
  ) {}

  current(): CurrencyRatesDoc {
    return this.store.get('currency-rates') ?? { id: 'currency-rates', base: this.accountCurrency, rates: {}, updatedAt: new Date(0).toISOString() };
  }

  async replace(input: z.output<typeof currencyRatesInput>): Promise<CurrencyRatesDoc> {
    if (input.base !== this.accountCurrency) fail('KR_BAD_REQUEST', `body.base: rates must be into the account currency ${this.accountCurrency}`);
    return this.store.put({ ...input, id: 'currency-rates', updatedAt: new Date().toISOString() });
  }

  /** Whether an amount in this currency can be converted ('' is the account currency). */
  has(currency: string): boolean {
    return currency === '' || currency === this.accountCurrency || this.scaled(currency) !== undefined;
  }

  /** The amount in the account currency; 0 when no rate is known (the postback log says so). */
  revenueOf(amountMicros: bigint, currency: string): bigint {
    if (currency === '' || currency === this.accountCurrency) return amountMicros;
    const scaled = this.scaled(currency);
    return scaled === undefined ? 0n : convertMicros(amountMicros, scaled);
  }

  private scaled(currency: string): bigint | undefined {
    const text = this.current().rates[currency];
    return text === undefined ? undefined : parseRate(text);
  }
}
