/**
 * Landing-page script benchmark: POST /lp/:campaignId (the one request /lp.js makes) against a
 * bare Fastify route taking the same body, and the script's size.
 *
 *   npx tsx bench/landing-visits.ts [seconds=10]
 *
 * Two runs on keyrev: every visit a new ad click (a new gclid: a click is recorded), and every
 * visit one the tracking template recorded moments before (found in memory: nothing recorded).
 * Each request comes from its own visitor address (X-Forwarded-For, believed from loopback), as
 * real traffic does, so the per-address limit does not apply.
 */
import { gzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { adminKey } from './click-helpers.js';
import { freePort, report, startProcess, waitForOk, type LoadResult } from './lib.js';
import { tempDir } from '../test/helpers/temp.js';

const seconds = Number(process.argv[2] ?? 10);
const connections = 50;
const origin = 'https://www.shoes.example';

let n = 0;
/** A visit from a new address; `gclid(n)` picks the page's ad click id. */
async function visits(url: string, gclid: (n: number) => string, duration: number): Promise<LoadResult> {
  const r = await autocannon({
    url,
    connections,
    duration,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          n++;
          return {
            ...req,
            headers: { 'content-type': 'text/plain', origin, 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` },
            body: JSON.stringify({ url: `${origin}/shoes?gclid=${gclid(n)}&kw=running+shoes&ad=4711`, referrer: 'https://www.google.com/' }),
          };
        },
      },
    ],
  });
  return { requestsPerSec: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, non2xx3xx: r.non2xx, errors: r.errors + r.timeouts };
}

const barePort = await freePort();
const bare = startProcess('bench/bare-server.ts', { PORT: String(barePort) });
await waitForOk(`http://127.0.0.1:${barePort}/postback`);
await visits(`http://127.0.0.1:${barePort}/lp/x`, (i) => `G${i}`, 2); // warm-up
const baseline = await visits(`http://127.0.0.1:${barePort}/lp/x`, (i) => `G${i}`, seconds);
bare.kill('SIGTERM');

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const keyrev = startProcess('server/main.ts', { PORT: String(port), HOST: '127.0.0.1', KEYREV_DATA_DIR: tempDir('keyrev-bench-'), KEYREV_ADMIN_KEY: adminKey });
await waitForOk(`${base}/health`);
const created = await fetch(`${base}/api/campaigns`, {
  method: 'POST',
  headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'Bench', offerUrl: 'https://offer.example/?cid={clickid}', landingDomains: ['shoes.example'] }),
});
const campaignId = ((await created.json()) as { id: string }).id;
const url = `${base}/lp/${campaignId}`;
await visits(url, (i) => `W${i}`, 2); // warm-up
const fresh = await visits(url, (i) => `N${i}`, seconds);
// Ad clicks the tracking template recorded: the visits find them in memory.
const known = 2_000;
for (let i = 0; i < known; i++) await fetch(`${base}/c/${campaignId}?gclid=K${i}&lpurl=${encodeURIComponent(`${origin}/`)}`, { redirect: 'manual' });
const repeat = await visits(url, (i) => `K${i % known}`, seconds);
const script = Buffer.from(await (await fetch(`${base}/lp.js`)).arrayBuffer());
keyrev.kill('SIGTERM');

const row = (what: string, r: LoadResult) => ({ what, 'req/s': Math.round(r.requestsPerSec), 'p50 ms': r.p50Ms, 'p99 ms': r.p99Ms, errors: r.errors + r.non2xx3xx });
report('landing-visits', [
  row('bare Fastify POST /lp/:id, same body (baseline)', baseline),
  row('keyrev visit, new ad click (recorded, durable)', fresh),
  row('keyrev visit, ad click recorded by the template', repeat),
  { what: 'ratio new / baseline', 'req/s': Number((fresh.requestsPerSec / baseline.requestsPerSec).toFixed(3)), 'p50 ms': '', 'p99 ms': '', errors: '' },
  { what: 'ratio repeat / baseline', 'req/s': Number((repeat.requestsPerSec / baseline.requestsPerSec).toFixed(3)), 'p50 ms': '', 'p99 ms': '', errors: '' },
  { what: `/lp.js bytes (gzipped: ${gzipSync(script, { level: 9 }).length})`, 'req/s': script.length, 'p50 ms': '', 'p99 ms': '', errors: '' },
]);
process.exit(0);
