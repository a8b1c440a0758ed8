import { describe, expect, it } from 'vitest';
import { parseQuery } from '../../core/query-string.js';

const limits = { maxParams: 100, maxKeyLength: 64, maxValueLength: 2048 };
const one = (raw: string, name = 'kw') => parseQuery(raw, limits).params.get(name);

describe('tracking-link query strings', () => {
  it.each([
    ['kw=c%2B%2B', 'c++'],
    ['kw=a%2Bb', 'a+b'],
    ['kw=running+shoes', 'running shoes'],
    ['kw=running%20shoes', 'running shoes'],
    ['kw=caf%C3%A9', 'café'],
    ['kw=100%25+cotton', '100% cotton'],
    ['kw=%E6%97%A5%E6%9C%AC', '日本'],
    ['kw=50%', '50%'],
    ['kw=%E0%A4%A', '%E0%A4%A'],
    ['kw=ok%20then%ZZ', 'ok then%ZZ'],
    ['kw=a%00b%0Ac%1Fd%7F', 'abcd'],
    ['kw=%F0%9F%91%9F', '👟'],
    ['kw=%ED%A0%80x', '%ED%A0%80x'],
    ['kw=', ''],
    ['kw', ''],
    ['kw=first&kw=second', 'first'],
  ])('%s -> %j', (raw, expected) => {
    expect(one(raw)).toBe(expected);
  });

  it('bounds values, keys and the number of parameters', () => {
    const long = parseQuery(`kw=${'x'.repeat(10_000)}`, limits);
    expect(long.params.get('kw')).toHaveLength(2048);
    expect(long.truncated).toBe(1);
    const many = parseQuery(Array.from({ length: 1_000 }, (_, i) => `p${i}=${i}`).join('&'), limits);
    expect(many.params.size).toBe(100);
    expect(many.droppedParams).toBe(900);
    const key = parseQuery(`${'k'.repeat(500)}=v`, limits);
    expect([...key.params.keys()][0]).toHaveLength(64);
  });

  it('never splits a surrogate pair when cutting', () => {
    const emoji = '👟'.repeat(2000);
    const v = parseQuery(`kw=${encodeURIComponent(emoji)}`, limits).params.get('kw')!;
    expect(v.length).toBeLessThanOrEqual(2048);
    expect(v.isWellFormed()).toBe(true);
  });

  it('ignores empty pairs', () => {
    expect([...parseQuery('&&a=1&&b=2&', limits).params]).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });
});
