import { describe, expect, it } from 'vitest';
import { EmbeddedWarehouse } from '../../../warehouse/embedded.js';
import { adminKey } from '../../helpers/app.js';
import { freePort, spawnKeyrev, waitFor200, waitForEmptySpools, type Spawned } from '../../helpers/process.js';
import { tempDir } from '../../helpers/temp.js';

describe('crash safety', () => {
  it('keeps every answered click exactly once across a SIGKILL in the middle of a load', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { KEYREV_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', KEYREV_ADMIN_KEY: adminKey, KEYREV_FLUSH_INTERVAL_MS: '20' };

    let run: Spawned = spawnKeyrev(env);
    await waitFor200(`${base}/health`, 30_000);
    const created = await fetch(`${base}/api/campaigns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Crash', offerUrl: 'https://offer.example/?c={clickid}' }),
    });
    const { id } = await created.json();

    const answered: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await fetch(`${base}/c/${id}?kw=w${w}-${i}`, { redirect: 'manual' });
          if (res.status === 302) answered.push(res.headers.get('x-keyrev-click-id')!);
        } catch {
          return; // the server is gone
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    while (answered.length < 3_000) await new Promise((r) => setTimeout(r, 20));
    run.child.kill('SIGKILL');
    await run.exited;
    stop = true;
    await load;

    run = spawnKeyrev(env);
    try {
      await waitFor200(`${base}/health`, 30_000);
      await waitForEmptySpools(base, 30_000);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);

    const wh = await EmbeddedWarehouse.open(dataDir);
    try {
      const rows = await wh.query<{ id: string; n: string }>('SELECT toString(click_id) AS id, count() AS n FROM clicks GROUP BY click_id');
      const stored = new Map(rows.map((r) => [r.id, Number(r.n)]));
      const missing = answered.filter((a) => !stored.has(a));
      const doubled = rows.filter((r) => r.n !== '1');
      expect(missing).toEqual([]);
      expect(doubled).toEqual([]);
      expect(answered.length).toBeGreaterThanOrEqual(3_000);
    } finally {
      await wh.close();
    }
  }, 120_000);
});
