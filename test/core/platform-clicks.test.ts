import { describe, expect, it } from 'vitest';
import { ClickIdGenerator } from '../../core/click-id.js';
import { platformIdOfParams, platformIdOfQuery, RecentPlatformClicks } from '../../core/platform-clicks.js';

const limits = { maxParams: 100, maxKeyLength: 64, maxValueLength: 2048 };

describe('platform click ids', () => {
  it('reads the first real platform id of a query or parameters, not placeholders', () => {
    expect(platformIdOfQuery('kw=a&gclid=%7Bgclid%7D&msclkid=M-1', limits)).toBe('M-1');
    expect(platformIdOfQuery('wbraid=W1&gclid=G1', limits)).toBe('W1');
    expect(platformIdOfQuery('kw=gclid', limits)).toBeUndefined();
    expect(platformIdOfQuery('GCLID=G1', limits)).toBeUndefined();
    expect(platformIdOfParams(new Map([['GBRAID', ' B-1 '], ['x', 'y']]))).toBe('B-1');
    expect(platformIdOfParams(new Map([['gclid', '{gclid}']]))).toBeUndefined();
  });

  it('remembers the first click of an id, forgets by age and by count, and asks ClickHouse for the rest in one query per turn', async () => {
    let now = Date.now();
    const asked: string[][] = [];
    const recent = new RecentPlatformClicks({
      maxAgeMs: 60_000,
      maxEntries: 3,
      now: () => now,
      lookUp: async (ids) => {
        asked.push([...ids]);
        return new Map(ids.filter((id) => id.startsWith('stored')).map((id) => [id, 42n]));
      },
    });
    const ids = new ClickIdGenerator(1);
    const first = ids.next(now).id;
    recent.remember('a', first);
    recent.remember('a', ids.next(now).id);
    expect(recent.recent('a')).toBe(first);
    for (const pid of ['b', 'c', 'd']) recent.remember(pid, ids.next(now).id);
    expect(recent.size).toBe(3);
    expect(recent.recent('a')).toBeUndefined();
    now += 61_000;
    expect(recent.recent('d')).toBeUndefined();
    const [one, two] = await Promise.all([recent.find(['stored-1', 'x']), recent.find(['stored-2'])]);
    expect(asked).toEqual([['stored-1', 'x', 'stored-2']]);
    expect(one).toEqual(new Map([['stored-1', 42n]]));
    expect(two).toEqual(new Map([['stored-2', 42n]]));
  });

  it('asks for the ids that come while a query runs in one next query', async () => {
    const asked: string[][] = [];
    let release: () => void = () => {};
    const recent = new RecentPlatformClicks({
      maxAgeMs: 60_000,
      maxEntries: 100,
      lookUp: async (ids) => {
        asked.push([...ids]);
        if (asked.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return new Map();
      },
    });
    const first = recent.find(['a']);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = ['b', 'c', 'd'].map((id) => recent.find([id]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(asked).toEqual([['a']]);
    release();
    await Promise.all([first, ...later]);
    expect(asked).toEqual([['a'], ['b', 'c', 'd']]);
  });
});
