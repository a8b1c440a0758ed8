import { describe, expect, it } from 'vitest';
import type { Network } from '../../../ingest/postbacks/network-schema.js';
import { readPostback } from '../../../ingest/postbacks/postback-params.js';

const read = (pairs: [string, string][], network?: Partial<Network>) => readPostback(new Map(pairs), network as Network | undefined);

describe('readPostback', () => {
  it("takes each field from its first-ranked name present, the first of two names differing in case, and skips unfilled macros", () => {
    const fields = read([['clickid', '11'], ['CID', '{clickid}'], ['cid', '22'], ['Cid', '33'], ['amount', '5'], ['payout', '1,5']]);
    // cid ranks above clickid, CID is an unfilled macro, Cid comes after cid; payout ranks above amount.
    expect(fields).toMatchObject({ clickId: 22n, amountMicros: 1_500_000n });
    // Every spelling of a name a field was read from is left out of the stored parameters.
    expect((fields as { extra: object }).extra).toEqual({ clickid: '11', amount: '5' });
  });

  it("keeps other parameters as sent, also those named like an object's own properties, never the secret", () => {
    const fields = read([['cid', '7'], ['constructor', 'a'], ['toString', 'b'], ['Secret', 's3cret']]);
    expect(fields).toMatchObject({ extra: { constructor: 'a', toString: 'b' } });
    expect(Object.keys((fields as { extra: object }).extra)).toEqual(['constructor', 'toString']);
  });

  it("reads a network's own names (in any case) instead of the defaults", () => {
    expect(read([['CID', '9'], ['MyClick', '8'], ['Money', '2']], { params: { clickId: ['myclick'], amount: ['money'] } })).toMatchObject({ clickId: 8n, amountMicros: 2_000_000n, extra: { CID: '9' } });
  });
});
