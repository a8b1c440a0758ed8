import { describe, expect, it } from 'vitest';
import type { ConversionState } from '../../../core/conversion.js';
import { ConversionStates } from '../../../ingest/postbacks/conversion-states.js';

const state = (n: number, extra: Partial<ConversionState> = {}): ConversionState => ({
  status: 'sale',
  amountMicros: BigInt(n) * 1_000_000n,
  currency: 'EUR',
  revenueMicros: -BigInt(n),
  network: `net-${n % 3}`,
  convertedAtMs: 1_700_000_000_000 + n,
  version: 2n ** 63n + BigInt(n),
  ...extra,
});

describe('conversion states (typed arrays)', () => {
  it('gives back exactly what was set, through growth, deletes and reused slots', () => {
    const states = new ConversionStates();
    for (let n = 0; n < 5_000; n++) states.set(`k${n}`, state(n, n % 2 ? { status: 'chargeback' } : {}), n % 7);
    for (let n = 0; n < 5_000; n += 2) states.delete(`k${n}`);
    for (let n = 0; n < 1_000; n++) states.set(`r${n}`, state(n, { status: 'lead', currency: '' }), 99);
    expect(states.size).toBe(3_500);
    expect(states.has('k0')).toBe(false);
    expect(states.get('k4999')).toEqual(state(4999, { status: 'chargeback' }));
    expect(states.get('r999')).toEqual(state(999, { status: 'lead', currency: '' }));
  });

  it('lists a slot under its bucket only while it holds a key of that bucket', () => {
    const states = new ConversionStates();
    states.set('a', state(1), 5);
    const slot = states.buckets.get(5)!.slots[0]!;
    expect(states.entry(slot, 5)).toEqual({ key: 'a', version: state(1).version });
    states.delete('a');
    expect(states.entry(slot, 5)).toBeUndefined();
    states.set('b', state(2), 6); // takes the freed slot
    expect(states.buckets.get(6)!.slots).toEqual([slot]);
    expect(states.entry(slot, 5)).toBeUndefined();
    expect(states.entry(slot, 6)?.key).toBe('b');
  });
});
