import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../schema/migrate.js';
import { EmbeddedWarehouse } from '../../warehouse/embedded.js';
import { tempDir } from '../helpers/temp.js';

/**
 * An insert that is sent again with its dedup token (its answer was lost: a connection reset, a
 * crash before the answer) stores nothing in its table, but ClickHouse still runs the table's
 * materialized views on the block. A view whose answer depends on other tables can then find
 * more than the first time: a click sent again after its conversion arrived would credit the
 * conversion a second time (the fault suite caught it after a SIGKILL). The attribution views
 * credit only what is not credited yet.
 */
describe('attribution views under retried inserts', () => {
  let wh: EmbeddedWarehouse;
  beforeAll(async () => {
    wh = await EmbeddedWarehouse.open(tempDir());
    await migrate(wh);
  });
  afterAll(async () => wh.close());

  const click = (id: number, token: string) =>
    wh.insert('clicks', [{ click_id: String(id), ts: '2026-12-01 10:00:00', campaign_id: 'c1', keyword: `k${id}` }], { dedupToken: token });
  const conversion = (id: number, txid: string, token: string) =>
    wh.insert(
      'conversions',
      [{ click_id: String(id), txid, conversion_type: '', status: 'sale', amount: '1', currency: 'USD', revenue: '1', converted_at: '2026-12-01 11:00:00', sign: 1, version: String(id * 10) }],
      { dedupToken: token },
    );
  const credited = async (txid: string) =>
    Number((await wh.query<{ n: string }>('SELECT sum(sign) AS n FROM attributed_conversions WHERE txid = {txid:String}', { txid }))[0]!.n);

  it('a click sent again after its conversion arrived credits the conversion once', async () => {
    await click(1, 'click-a');
    await conversion(1, 'tx-1', 'conv-a');
    await click(1, 'click-a');
    expect(await credited('tx-1')).toBe(1);
  });

  it('a conversion sent again after its late click arrived is credited once', async () => {
    await conversion(2, 'tx-2', 'conv-b');
    await click(2, 'click-b');
    await conversion(2, 'tx-2', 'conv-b');
    expect(await credited('tx-2')).toBe(1);
  });

  it('still credits a second conversion of a click, and a click inserted again under a new token stays one click', async () => {
    await conversion(1, 'tx-3', 'conv-c');
    expect(await credited('tx-3')).toBe(1);
    expect(await credited('tx-1')).toBe(1);
  });
});
