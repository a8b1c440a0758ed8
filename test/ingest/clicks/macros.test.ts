import { describe, expect, it } from 'vitest';
import { isUnfilledMacro } from '../../../core/query-string.js';
import { mapClickParams, parseDecimal } from '../../../ingest/clicks/click-params.js';
import { fillMacros } from '../../../ingest/clicks/macros.js';
import { parseQuery } from '../../../core/query-string.js';

const known = new Set(['clickid', 'keyword', 'ad', 'sub1']);

describe('offer URL macros', () => {
  const values = (v: Record<string, string>) => (name: string) => v[name];

  it.each([
    ['c++', 'c%2B%2B'],
    ['a+b', 'a%2Bb'],
    ['running shoes', 'running%20shoes'],
    ['100% cotton', '100%25%20cotton'],
    ['café & co', 'caf%C3%A9%20%26%20co'],
    ['a=b?c#d', 'a%3Db%3Fc%23d'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
    ['{keyword}', '%7Bkeyword%7D'],
  ])('encodes the keyword %j exactly once', (keyword, encoded) => {
    expect(fillMacros('https://o.example/?k={keyword}', values({ keyword }), known)).toBe(`https://o.example/?k=${encoded}`);
  });

  it('round-trips through a link: what the advertiser typed reaches the offer unchanged', () => {
    for (const typed of ['c++', 'a+b', 'running shoes', '50% off', 'ä/ö?ü', 'x&y=z']) {
      const link = `kw=${encodeURIComponent(typed)}`;
      const { fields } = mapClickParams(parseQuery(link, { maxParams: 10, maxKeyLength: 64, maxValueLength: 100 }).params);
      const offer = fillMacros('https://o.example/?k={keyword}', (n) => (n === 'keyword' ? fields.keyword : undefined), known);
      expect(new URL(offer).searchParams.get('k')).toBe(typed);
    }
  });

  it('fills known macros with empty text when absent, other names from the link, and leaves the rest', () => {
    const out = fillMacros('https://o.example/p/{clickid}?a={ad}&s={sub1}&x={custom}&y={Unknown}', values({ clickid: '123', custom: 'v 1' }), known);
    expect(out).toBe('https://o.example/p/123?a=&s=&x=v%201&y={Unknown}');
  });

  it('treats macro names case-insensitively', () => {
    expect(fillMacros('https://o.example/?c={ClickId}', values({ clickid: '9' }), known)).toBe('https://o.example/?c=9');
  });
});

describe('click parameters', () => {
  it('accepts the aliases ad platforms use and keeps unknown parameters', () => {
    const params = new Map([
      ['keyword', 'shoes'],
      ['creative', '4711'],
      ['adgroupid', '99'],
      ['matchtype', 'e'],
      ['utm_source', 'google'],
      ['sub3', 's3'],
      ['gclid', 'EAIaIQ'],
      ['campaignid', '123'],
      ['wbraid', 'w'],
    ]);
    const { fields, extra } = mapClickParams(params);
    expect(fields).toMatchObject({ keyword: 'shoes', ad: '4711', adgroup: '99', match_type: 'e', utm_source: 'google', sub3: 's3', gclid: 'EAIaIQ' });
    expect(extra).toEqual({ campaignid: '123', wbraid: 'w' });
  });

  it('prefers kw over keyword and ignores unfilled macros', () => {
    const { fields } = mapClickParams(new Map([['kw', '{keyword}'], ['keyword_text', 'real']]));
    expect(fields.keyword).toBe('real');
  });

  it.each(['{keyword}', '{{keyword}}', '[sub1]', '#sub1#', 'REPLACE', 'OPTIONAL'])('%s is an unfilled macro', (v) => {
    expect(isUnfilledMacro(v)).toBe(true);
  });

  it.each(['shoes', '{a} b', 'c++', ''])('%j is data', (v) => {
    expect(isUnfilledMacro(v)).toBe(false);
  });

  it.each([
    ['0.35', '0.35'],
    ['12,34', '12.34'],
    ['7', '7'],
    ['-1', undefined],
    ['1e3', undefined],
    ['0.1234567', undefined],
    ['abc', undefined],
  ])('cost %s -> %s', (raw, parsed) => {
    expect(parseDecimal(raw)).toBe(parsed);
  });
});
