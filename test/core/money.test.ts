import { describe, expect, it } from 'vitest';
import { convertMicros, formatMicros, parseAmount, parseRate } from '../../core/money.js';

describe('money', () => {
  it.each([
    ['12', '12.000000'],
    ['12.34', '12.340000'],
    ['12,34', '12.340000'],
    ['1,234.56', '1234.560000'],
    ['1.234,56', '1234.560000'],
    ['1 234,56', '1234.560000'],
    ['1,234,567.89', '1234567.890000'],
    ['-5', '-5.000000'],
    ['+3', '3.000000'],
    [' 0.000001 ', '0.000001'],
    ['999999999999.999999', '999999999999.999999'],
  ])('reads %j as %s', (text, micros) => {
    expect(formatMicros(parseAmount(text)!)).toBe(micros);
  });

  it.each(['', 'abc', '0.0000001', '12.', '.5', '1e5', '1,2,3', '1.234.567,8.9', '1000000000000', 'NaN', '12 EUR'])('refuses %j', (text) => {
    expect(parseAmount(text)).toBeUndefined();
  });

  it('converts exactly, rounding half away from zero to the micro-unit', () => {
    expect(formatMicros(convertMicros(parseAmount('12.34')!, parseRate('1.08')!))).toBe('13.327200');
    expect(formatMicros(convertMicros(parseAmount('0.000001')!, parseRate('0.5')!))).toBe('0.000001');
    expect(formatMicros(convertMicros(parseAmount('-0.000001')!, parseRate('0.5')!))).toBe('-0.000001');
    expect(formatMicros(convertMicros(parseAmount('0.1')!, parseRate('3')!))).toBe('0.300000');
    // Past Decimal(18, 6) a row would make ClickHouse refuse its whole batch: held at the bound.
    expect(formatMicros(convertMicros(parseAmount('999999999999')!, parseRate('3')!))).toBe('999999999999.999999');
    expect(formatMicros(convertMicros(parseAmount('-999999999999')!, parseRate('3')!))).toBe('-999999999999.999999');
    expect(parseRate('0')).toBeUndefined();
    expect(parseRate('1.0000000000001')).toBeUndefined();
  });
});
