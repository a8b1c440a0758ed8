/**
 * Click redirect benchmark (issue: throughput ratio >= 0.6 of bare Fastify, p99 <= 10 ms at 50
 * connections, redirect-to-visible lag p99 <= 2 s, spool replay rows/s).
 *
 *   npx tsx bench/click-redirect.ts [seconds=10]
 *
 * Both servers run in their own process, loaded by the same autocannon client from this one.
 */
import { adminKey, createBenchCampaign, measureLag, measureReplay } from './click-helpers.js';
import { freePort, load, report, startProcess, waitForOk } from './lib.js';
import { tempDir } from '../test/helpers/temp.js';

const seconds = Number(process.argv[2] ?? 10);
const connections = 50;
const query = '?kw=running%20shoes&ad=4711&adgroup=88&matchtype=e&utm_source=google&utm_medium=cpc&utm_campaign=spring&sub1=abc&gclid=EAIaIQobChMI';

const barePort = await freePort();
const bare = startProcess('bench/bare-server.ts', { PORT: String(barePort) });
await waitForOk(`http://127.0.0.1:${barePort}/c/x`);
await load(`http://127.0.0.1:${barePort}/c/x${query}`, connections, 2); // warm-up
const baseline = await load(`http://127.0.0.1:${barePort}/c/x${query}`, connections, seconds);
bare.kill('SIGTERM');

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const keyrev = startProcess('server/main.ts', { PORT: String(port), HOST: '127.0.0.1', KEYREV_DATA_DIR: tempDir('keyrev-bench-'), KEYREV_ADMIN_KEY: adminKey });
await waitForOk(`${base}/health`);
const campaignId = await createBenchCampaign(base);
const url = `${base}/c/${campaignId}${query}`;
await load(url, connections, 2); // warm-up
const lagSampler = measureLag(base, url, seconds * 1000);
const product = await load(url, connections, seconds);
const lag = await lagSampler;
keyrev.kill('SIGTERM');

const replay = await measureReplay(200_000);

report('click-redirect', [
  { what: 'bare Fastify 302 (baseline)', 'req/s': Math.round(baseline.requestsPerSec), 'p50 ms': baseline.p50Ms, 'p99 ms': baseline.p99Ms, errors: baseline.errors + baseline.non2xx3xx },
  { what: 'keyrev /c/:id, durable', 'req/s': Math.round(product.requestsPerSec), 'p50 ms': product.p50Ms, 'p99 ms': product.p99Ms, errors: product.errors + product.non2xx3xx },
  { what: 'throughput ratio (target >= 0.6)', 'req/s': Number((product.requestsPerSec / baseline.requestsPerSec).toFixed(3)), 'p50 ms': '', 'p99 ms': '', errors: '' },
  { what: `redirect -> visible in ClickHouse, ${lag.samples} samples (target p99 <= 2000 ms)`, 'req/s': '', 'p50 ms': lag.p50Ms, 'p99 ms': lag.p99Ms, errors: lag.missing },
  { what: `spool replay of ${replay.rows} clicks into ClickHouse`, 'req/s': Math.round(replay.rowsPerSec), 'p50 ms': '', 'p99 ms': '', errors: '' },
]);
process.exit(0);
