import { ClickIdGenerator } from '../core/click-id.js';
import { Flusher } from '../ingest/spool/flusher.js';
import { Spool } from '../ingest/spool/spool.js';
import { migrate } from '../schema/migrate.js';
import { EmbeddedWarehouse } from '../warehouse/embedded.js';
import { tempDir } from '../test/helpers/temp.js';
import { percentile } from './lib.js';

export const adminKey = 'bench-admin-key-0123456789';
const auth = { authorization: `Bearer ${adminKey}` };

export async function createBenchCampaign(base: string): Promise<string> {
  const res = await fetch(`${base}/api/campaigns`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench', offerUrl: 'https://offer.example/landing?cid={clickid}&kw={keyword}&ad={ad}', trafficSource: 'google' }),
  });
  if (res.status !== 201) throw new Error(`campaign not created: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/**
 * While the load runs, sends one extra click every 250 ms and polls the click lookup API (every
 * 50 ms) until the click is readable from ClickHouse: the time from the redirect to that is the
 * lag, to within the polling step. Sparse on purpose: every poll is a ClickHouse query that
 * takes CPU from the server being measured.
 */
export async function measureLag(base: string, clickUrl: string, durationMs: number) {
  const lags: number[] = [];
  let missing = 0;
  const pending: Promise<void>[] = [];
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    const res = await fetch(clickUrl, { redirect: 'manual' });
    const answeredAt = Date.now();
    const id = res.headers.get('x-keyrev-click-id');
    pending.push(
      (async () => {
        while (Date.now() - answeredAt < 15_000) {
          const r = await fetch(`${base}/api/clicks/${id}`, { headers: auth });
          if (r.status === 200) {
            lags.push(Date.now() - answeredAt);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        missing++;
      })(),
    );
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await Promise.all(pending);
  lags.sort((a, b) => a - b);
  return { samples: lags.length, missing, p50Ms: percentile(lags, 50), p99Ms: percentile(lags, 99) };
}

/** Fills a spool with realistic click rows, as a crash would leave it, and times the replay into ClickHouse. */
export async function measureReplay(rows: number) {
  const dataDir = tempDir('keyrev-replay-');
  const wh = await EmbeddedWarehouse.open(dataDir);
  await migrate(wh);
  const spool = Spool.open({ dir: `${dataDir}/spool`, maxSegmentBytes: 32 * 1024 * 1024, maxSegmentAgeMs: 60_000, maxTotalBytes: 2 ** 40 });
  const ids = new ClickIdGenerator(1);
  const appends: Promise<boolean>[] = [];
  for (let i = 0; i < rows; i++) {
    const { id, ms } = ids.next();
    const row = {
      click_id: id.toString(),
      ts: ms,
      campaign_id: 'bench',
      traffic_source: 'google',
      keyword: `keyword ${i % 5000}`,
      ad: String(i % 300),
      adgroup: String(i % 40),
      match_type: 'e',
      utm_source: 'google',
      utm_medium: 'cpc',
      utm_campaign: 'spring',
      sub1: 'abc',
      gclid: 'EAIaIQobChMI',
      cost: '0.25',
      ip: `198.51.100.${i % 250}`,
      user_agent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      device_type: 'desktop',
      os: 'Windows',
      browser: 'Chrome',
      country: 'US',
      is_bot: 0,
      is_unique: 1,
      missed: 0,
      extra: {},
    };
    appends.push(spool.append(`${JSON.stringify(row)}\n`));
  }
  if (!(await Promise.all(appends)).every(Boolean)) throw new Error('the spool refused rows');
  await spool.close();
  const reopened = Spool.open({ dir: `${dataDir}/spool`, maxSegmentBytes: 32 * 1024 * 1024, maxSegmentAgeMs: 60_000, maxTotalBytes: 2 ** 40 });
  const noop = () => undefined;
  const flusher = new Flusher(reopened, (data, token) => wh.insertRaw('clicks', data, 'JSONEachRow', { dedupToken: token }), {
    intervalMs: 100,
    maxBackoffMs: 1000,
    log: { warn: noop, error: (o: object, m: string) => console.error(m, o), info: noop },
  });
  const started = performance.now();
  await flusher.drain();
  const seconds = (performance.now() - started) / 1000;
  const [stored] = await wh.query<{ c: string }>('SELECT count() AS c FROM clicks');
  await wh.close();
  if (Number(stored?.c) !== rows) throw new Error(`replay stored ${stored?.c} of ${rows} rows`);
  return { rows, rowsPerSec: rows / seconds };
}
