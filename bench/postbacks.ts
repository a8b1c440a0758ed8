/**
 * Postback benchmarks (issue: single postbacks/s with durable acknowledgement >= 0.5 of a bare
 * Fastify route; bulk NDJSON end to end >= 0.5 of a raw insert of the same rows; memory flat).
 *
 *   npx tsx bench/postbacks.ts [seconds=10] [bulk MB=50]
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { buildApp } from '../server/app.js';
import { loadConfig } from '../core/config.js';
import { ClickIdGenerator } from '../core/click-id.js';
import { postbackColumns, postbackLine } from '../ingest/postbacks/postback-row.js';
import { tempDir } from '../test/helpers/temp.js';
import { adminKey } from './click-helpers.js';
import { freePort, report, startProcess, waitForOk } from './lib.js';

const seconds = Number(process.argv[2] ?? 10);
const bulkMb = Number(process.argv[3] ?? 50);
const connections = 50;
const ids = new ClickIdGenerator(5);
// keyrev's single postbacks carry a secret, as the product requires by default (the bare route ignores it).
const postbackSecret = 'bench-postback-secret';

/** Every request a new conversion (a fresh click and transaction id), for baseline and product alike. */
async function loadPostbacks(url: string, duration: number) {
  let n = 0;
  const r = await autocannon({
    url,
    connections,
    duration,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/postback?cid=${ids.next().id}&payout=1,25&txid=t${n++}&status=approved&secret=${postbackSecret}` }) }],
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx };
}

// Both servers run side by side and are loaded in turns, best round of each: this 2-core machine's
// speed drifts by a factor of two over minutes, and a single round of each measured the drift.
const rounds = 2;
const barePort = await freePort();
const bare = startProcess('bench/bare-server.ts', { PORT: String(barePort) });
const port = await freePort();
const keyrev = startProcess('server/main.ts', { PORT: String(port), HOST: '127.0.0.1', KEYREV_DATA_DIR: tempDir('keyrev-bench-'), KEYREV_ADMIN_KEY: adminKey, KEYREV_POSTBACK_SECRET: postbackSecret });
const bareUrl = `http://127.0.0.1:${barePort}`;
const keyrevUrl = `http://127.0.0.1:${port}`;
await waitForOk(`${bareUrl}/postback`);
await waitForOk(`${keyrevUrl}/health`);
await loadPostbacks(bareUrl, 2);
await loadPostbacks(keyrevUrl, 2);
type Load = Awaited<ReturnType<typeof loadPostbacks>>;
const bareRounds: Load[] = [];
const singleRounds: Load[] = [];
for (let r = 0; r < rounds; r++) {
  bareRounds.push(await loadPostbacks(bareUrl, seconds));
  singleRounds.push(await loadPostbacks(keyrevUrl, seconds));
}
bare.kill('SIGTERM');
keyrev.kill('SIGTERM');
const best = (loads: Load[]) => loads.reduce((a, b) => (b.rps > a.rps ? b : a));
const baseline = best(bareRounds);
const single = best(singleRounds);

// Bulk, in this process: the raw insert baseline and the product share one embedded warehouse.
const config = loadConfig({ KEYREV_DATA_DIR: tempDir('keyrev-bulk-'), KEYREV_ADMIN_KEY: adminKey, KEYREV_LOG_LEVEL: 'warn', PORT: String(await freePort()), HOST: '127.0.0.1' });
const app = await buildApp({ config, adminKey, logger: false });
await app.listen({ port: config.port, host: config.host });
const wh = app.keyrev.warehouse;
const count = async () => Number((await wh.query<{ c: string }>('SELECT count() AS c FROM postbacks'))[0]!.c);

/**
 * The NDJSON stream, written to a file before the clock starts (as the raw baseline's rows are
 * made before its clock starts): the timed part is only sending, ingesting and inserting it.
 */
async function writeStream(bytes: number): Promise<{ file: string; lines: number }> {
  const file = path.join(tempDir('keyrev-bulk-stream-'), 'postbacks.ndjson');
  const out = fs.createWriteStream(file);
  let batch: string[] = [];
  let n = 0;
  for (let sent = 0; sent < bytes; n++) {
    const line = `${JSON.stringify({ cid: ids.next().id.toString(), payout: '12,50', txid: `bulk-${n}`, status: 'approved', currency: 'USD', sub: 'abc' })}\n`;
    sent += line.length;
    batch.push(line);
    if (batch.length === 1000) {
      if (!out.write(batch.join(''))) await once(out, 'drain');
      batch = [];
    }
  }
  out.end(batch.join(''));
  await once(out, 'finish');
  return { file, lines: n };
}
const stream = await writeStream(bulkMb * 1024 * 1024);

// Baseline: the rows keyrev would write for the same postbacks, in its spool's format, inserted raw in 32 MB batches.
const rawRows = Math.round((bulkMb * 1024 * 1024) / 110);
const sample = { network: '', conversion_type: '', status: 'sale', amount: '12.5', currency: 'USD', params: { sub: 'abc' }, outcome: 'new', ip: '127.0.0.1', revenue: '12.5', conv_network: '', conv_status: 'sale', conv_amount: '12.5', conv_currency: 'USD', conv_revenue: '12.5', prev_version: '0', prev_status: '', prev_amount: '0', prev_currency: '', prev_revenue: '0' };
let rawSeconds = 0;
for (let done = 0; done < rawRows; ) {
  const batch: string[] = [];
  for (let i = 0; i < 250_000 && done < rawRows; i++, done++) {
    const { id, ms } = ids.next();
    batch.push(postbackLine({ postback_id: id.toString(), received_at: ms, click_id: id.toString(), txid: `raw-${done}`, converted_at: ms, ...sample }));
  }
  const data = Buffer.from(batch.join(''));
  const t0 = performance.now();
  await wh.insertRaw('postbacks', data, 'JSONCompactEachRow', { columns: postbackColumns });
  rawSeconds += (performance.now() - t0) / 1000;
}
const rawPerSec = rawRows / rawSeconds;
// The stream then starts from empty tables too: the baseline's rows left in them would keep the
// engine merging their parts (on the same two cores) while keyrev's stream is timed.
for (const table of ['postbacks', 'conversions', 'attributed_conversions', 'conversion_stats_search', 'conversion_stats_utm', 'conversion_stats_search_daily']) {
  await wh.exec(`TRUNCATE TABLE ${table}`);
}

const before = await count();
const rss0 = process.memoryUsage().rss;
// Peak RSS growth by quarter of the stream: flat memory means the later quarters add nothing.
// The client runs in its own process, so this is the server's (and its embedded engine's) memory.
const quarters = [0, 0, 0, 0];
const spool = app.keyrev.postbacks.spool;
const appended0 = spool.stats().appended;
const sampler = setInterval(() => {
  const q = Math.min(3, Math.floor(((spool.stats().appended - appended0) / stream.lines) * 4));
  quarters[q] = Math.max(quarters[q]!, process.memoryUsage().rss - rss0);
}, 100);
const client = startProcess('bench/send-ndjson.ts', { KEYREV_ADMIN_KEY: adminKey }, { args: [stream.file, `http://127.0.0.1:${config.port}/postbacks`], pipes: true });
let answerText = '';
client.stdout!.on('data', (chunk: Buffer) => (answerText += chunk.toString()));
// Listened for from the start: a client that dies during its start-up must fail the bench, not hang it.
const closed = once(client, 'close') as Promise<[number | null]>;
await new Promise((resolve) => setTimeout(resolve, 3_000)); // the client's start-up
const t0 = performance.now();
client.stdin!.end();
const [exitCode] = await closed;
if (exitCode !== 0) throw new Error(`the NDJSON client exited with ${exitCode}`);
const answer = JSON.parse(answerText) as { accepted: number; rejected: number };
await app.keyrev.postbacks.flusher.drain();
const bulkSeconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
const visible = (await count()) - before;
if (visible !== answer.accepted || answer.rejected > 0) throw new Error(`bulk: ${JSON.stringify(answer)}, ${visible} visible`);
await app.close();
fs.rmSync(path.dirname(stream.file), { recursive: true, force: true });

report('postbacks', [
  ...bareRounds.flatMap((b, r) => [
    { what: `round ${r + 1}: bare Fastify GET /postback`, 'per s': Math.round(b.rps), 'p50 ms': b.p50, 'p99 ms': b.p99, errors: b.errors },
    { what: `round ${r + 1}: keyrev GET /postback, durable`, 'per s': Math.round(singleRounds[r]!.rps), 'p50 ms': singleRounds[r]!.p50, 'p99 ms': singleRounds[r]!.p99, errors: singleRounds[r]!.errors },
  ]),
  { what: 'bare Fastify GET /postback, best round (baseline)', 'per s': Math.round(baseline.rps), 'p50 ms': baseline.p50, 'p99 ms': baseline.p99, errors: baseline.errors },
  { what: 'keyrev GET /postback, durable, new conversions, best round', 'per s': Math.round(single.rps), 'p50 ms': single.p50, 'p99 ms': single.p99, errors: single.errors },
  { what: 'single postback ratio (target >= 0.5)', 'per s': Number((single.rps / baseline.rps).toFixed(3)), 'p50 ms': '', 'p99 ms': '', errors: '' },
  { what: `raw JSONCompactEachRow insert of ${rawRows} postback rows (baseline)`, 'per s': Math.round(rawPerSec), 'p50 ms': '', 'p99 ms': '', errors: '' },
  { what: `POST /postbacks ${bulkMb} MB NDJSON, ${answer.accepted} lines, until visible`, 'per s': Math.round(answer.accepted / bulkSeconds), 'p50 ms': '', 'p99 ms': '', errors: answer.rejected },
  { what: 'bulk ratio (target >= 0.5)', 'per s': Number((answer.accepted / bulkSeconds / rawPerSec).toFixed(3)), 'p50 ms': '', 'p99 ms': '', errors: '' },
  { what: 'server RSS when the stream starts (after the raw baseline), MB', 'per s': Math.round(rss0 / 1024 / 1024), 'p50 ms': '', 'p99 ms': '', errors: '' },
  ...quarters.map((bytes, q) => ({ what: `server RSS growth by ${25 * (q + 1)}% of the stream (peak), MB`, 'per s': Math.round(bytes / 1024 / 1024), 'p50 ms': '', 'p99 ms': '', errors: '' })),
]);
process.exit(0);
