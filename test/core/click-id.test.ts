import { describe, expect, it } from 'vitest';
import { ClickIdGenerator, clickIdEpochMs, decodeClickId, parseClickId } from '../../core/click-id.js';

describe('click ids', () => {
  it('encode the time, the node and a sequence', () => {
    const now = Date.UTC(2026, 10, 24, 12, 0, 0, 123);
    const { id, ms } = new ClickIdGenerator(513).next(now);
    expect(ms).toBe(now);
    expect(decodeClickId(id)).toEqual({ ms: now, node: 513, sequence: 0 });
    expect(id < 1n << 63n).toBe(true);
  });

  it('are unique and increasing across two nodes interleaved, and sort by time', () => {
    const a = new ClickIdGenerator(1);
    const b = new ClickIdGenerator(2);
    const ids: bigint[] = [];
    const start = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 20_000; i++) {
      const t = start + Math.floor(i / 7);
      ids.push(a.next(t).id, b.next(t).id);
    }
    expect(new Set(ids).size).toBe(ids.length);
    const byA = ids.filter((_, i) => i % 2 === 0);
    expect([...byA].sort((x, y) => (x < y ? -1 : 1))).toEqual(byA);
    // an id from a later millisecond sorts after every id of an earlier one, whatever the node
    expect(a.next(start + 10_000).id > b.next(start + 9_999).id).toBe(true);
  });

  it('borrow the next millisecond after 4,096 ids in one, and survive a clock step back', () => {
    const g = new ClickIdGenerator(0);
    const t = clickIdEpochMs + 1_000;
    const ids = Array.from({ length: 5_000 }, () => g.next(t).id);
    expect(new Set(ids).size).toBe(5_000);
    expect(decodeClickId(ids[4_095]!)).toMatchObject({ ms: t, sequence: 4_095 });
    expect(decodeClickId(ids[4_096]!)).toMatchObject({ ms: t + 1, sequence: 0 });
    const before = g.next(t).id;
    const afterStepBack = g.next(t - 60_000).id;
    expect(afterStepBack > before).toBe(true);
  });

  it('parse only what can be a click id', () => {
    expect(parseClickId('123456789012345678')).toBe(123456789012345678n);
    for (const bad of ['', '0', '-1', '1e5', ' 12', '12 ', '0123', '99999999999999999999', '{clickid}', '12abc']) {
      expect(parseClickId(bad)).toBeUndefined();
    }
  });

  it('refuse a node id outside 0-1023', () => {
    expect(() => new ClickIdGenerator(1024)).toThrow(RangeError);
    expect(() => new ClickIdGenerator(-1)).toThrow(RangeError);
  });
});
