import { describe, expect, it } from 'vitest';
import { ForgottenKeys } from '../../../ingest/postbacks/forgotten-keys.js';

const key = (n: number) => `${383765977717833728n + BigInt(n) * 4096n}\u0001\u0001tx-${n}`;

describe('forgotten keys (Bloom filters)', () => {
  it('holds every key it was given and claims about one other in a thousand', () => {
    const forgotten = new ForgottenKeys(50_000);
    for (let n = 0; n < 50_000; n++) forgotten.add(key(n), n);
    for (let n = 0; n < 50_000; n++) expect(forgotten.mayHold(key(n), n)).toBe(true);
    let claimed = 0;
    // Asked at clicks the filter covers: a newer click would not even read it.
    for (let n = 50_000; n < 250_000; n++) if (forgotten.mayHold(key(n), n % 50_000)) claimed++;
    expect(claimed / 200_000).toBeLessThan(0.002);
  });

  it('does not read a filter whose newest click is older than the one asked about', () => {
    const forgotten = new ForgottenKeys(1_000);
    for (let n = 0; n < 1_000; n++) forgotten.add(key(n), 5_000);
    expect(forgotten.mayHold(key(7), 5_000)).toBe(true);
    // No key of a click after 5_000 was ever forgotten, whatever its bits.
    expect(forgotten.mayHold(key(7), 5_001)).toBe(false);
  });

  it('drops its oldest filter when all are full and moves the horizon past that filter\'s newest click', () => {
    const forgotten = new ForgottenKeys(100, 2);
    const never = key(9_999);
    for (let n = 0; n < 200; n++) forgotten.add(key(n), 1_000 + n);
    expect(forgotten.mayHold(never, 0)).toBe(false); // no horizon yet
    forgotten.add(key(200), 5_000);
    // The horizon is now 1_100, one past the dropped filter's newest click.
    expect(forgotten.mayHold(never, 1_099)).toBe(true);
    expect(forgotten.mayHold(never, 1_100)).toBe(false);
    expect(forgotten.mayHold(key(150), 1_150)).toBe(true);
    expect(forgotten.mayHold(key(200), 5_000)).toBe(true);
  });
});
