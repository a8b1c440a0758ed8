import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { drainPending } from 'chdb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, tempDir, type TestApp } from '../helpers/app.js';
import { freePort, spawnKeyrev, waitFor200, type Spawned } from '../helpers/process.js';

/**
 * Attack: with KEYREV_POSTBACK_SECRET unset, /postback and /postbacks took postbacks from anyone,
 * and every visitor learns a click id of their own (the offer URL, X-Keyrev-Click-Id). A click,
 * then `/postback?cid=<id>&payout=999999999999.999999&txid=a` and a `rebill` made one keyword's
 * revenue 1,999,999,999,999. Now a secret is generated on first start and stored in the data
 * directory (`postback.secret`), and every postback needs it unless its network has a secret or
 * an IP allowlist of its own; only an explicit KEYREV_POSTBACK_SECRET=off opens postbacks again.
 */

/** The secure default: '' means unset (test/helpers/app.ts otherwise runs tests with `off`). */
const secureDefault = { KEYREV_POSTBACK_SECRET: '', KEYREV_FLUSH_INTERVAL_MS: '20' };

const secretFile = (dataDir: string) => path.join(dataDir, 'postback.secret');

async function clickOf(t: TestApp): Promise<string> {
  const created = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'Shoes', offerUrl: 'https://shop.example/?subid={clickid}' } });
  expect(created.statusCode, created.body).toBe(201);
  // What any visitor can do: click the ad and read its own click id from the redirect.
  const click = await t.app.inject({ method: 'GET', url: `/c/${created.json().id}?kw=shoes`, remoteAddress: '203.0.113.50' });
  expect(click.statusCode).toBe(302);
  return click.headers['x-keyrev-click-id'] as string;
}

async function storedPostbacks(t: TestApp): Promise<number> {
  await t.app.keyrev.postbacks.flusher.drain();
  const [row] = await t.app.keyrev.warehouse.query<{ n: string }>('SELECT toString(count()) AS n FROM postbacks');
  return Number(row!.n);
}

/**
 * Sends the head of a POST /postbacks and one chunk of a body that never ends (and is not gzip,
 * though it says so): the answer must come from the headers alone, before the body is read or
 * inflated. Resolves with the status and body, or with `undefined` when no answer came in time.
 */
async function bulkWithOpenBody(port: number, query: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/postbacks${query}`,
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip', 'transfer-encoding': 'chunked' },
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve(undefined);
    }, 5_000);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode!, body });
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.write('{"cid":"1","payout":"999999999999.999999","txid":"bulk"}\n');
  });
}

describe('postbacks with KEYREV_POSTBACK_SECRET unset', () => {
  let t: TestApp;
  let dataDir: string;
  let clickId: string;
  beforeAll(async () => {
    dataDir = tempDir();
    t = await startApp({ ...secureDefault, KEYREV_DATA_DIR: dataDir });
    clickId = await clickOf(t);
  });
  afterAll(async () => {
    await t.close();
    await drainPending();
  });

  it('refuses a fake sale and its rebill without the secret (403 bad secret) and records nothing', async () => {
    for (const url of [`/postback?cid=${clickId}&payout=999999999999.999999&txid=a`, `/postback?cid=${clickId}&payout=999999999999.999999&txid=a&status=rebill`]) {
      const res = await t.app.inject({ method: 'GET', url, remoteAddress: '203.0.113.50' });
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json()).toMatchObject({ statusCode: 403, code: 'KR_FORBIDDEN', message: 'bad secret' });
    }
    const wrong = await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=1&txid=a&secret=guessed-secret`, remoteAddress: '203.0.113.50' });
    expect(wrong.statusCode).toBe(403);
    expect(await storedPostbacks(t)).toBe(0);
  });

  it('refuses POST /postbacks without the secret from its headers, before reading or inflating the body', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const answer = await bulkWithOpenBody(port, '');
    expect(answer, 'no answer while the body was still open: the route waited for it').toBeDefined();
    expect(answer!.status, answer!.body).toBe(403);
    expect(JSON.parse(answer!.body)).toMatchObject({ code: 'KR_FORBIDDEN', message: 'bad secret' });
    expect((await bulkWithOpenBody(port, '?secret=guessed-secret'))?.status).toBe(403);
    expect(await storedPostbacks(t)).toBe(0);
  });

  it('generates a secret into the data directory (mode 0600) and accepts postbacks that carry it', async () => {
    const secret = fs.readFileSync(secretFile(dataDir), 'utf8').trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(fs.statSync(secretFile(dataDir)).mode & 0o777).toBe(0o600);
    expect(t.app.postbackSecret.generated).toEqual({ secret, file: secretFile(dataDir) });
    const single = await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=12,50&txid=ok&secret=${secret}` });
    expect(single.statusCode, single.body).toBe(200);
    expect(single.body).toBe('OK');
    const bulk = await t.app.inject({
      method: 'POST',
      url: `/postbacks?secret=${secret}`,
      headers: { 'content-type': 'application/x-ndjson' },
      payload: `${JSON.stringify({ cid: clickId, payout: 1, txid: 'bulk-ok' })}\n`,
    });
    expect(bulk.statusCode, bulk.body).toBe(200);
    expect(bulk.json()).toMatchObject({ accepted: 1, rejected: 0 });
    expect(await storedPostbacks(t)).toBe(2);
  });

  it('says on /health that postbacks need a secret', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.json()).toMatchObject({ postbacks: { secret: 'required' } });
  });

  it('accepts a network with an allowlist and no secret of its own from an allowed address only, without the global secret', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/networks', headers: adminAuth, payload: { slug: 'walled', name: 'Walled', allowIps: ['198.51.100.0/24'] } });
    expect(created.statusCode, created.body).toBe(201);
    const plain = await t.app.inject({ method: 'POST', url: '/api/networks', headers: adminAuth, payload: { slug: 'plain', name: 'Plain' } });
    expect(plain.statusCode, plain.body).toBe(201);
    const send = (url: string, remoteAddress: string) => t.app.inject({ method: 'GET', url, remoteAddress });

    const allowed = await send(`/postback/walled?cid=${clickId}&payout=3&txid=w1`, '198.51.100.7');
    expect(allowed.statusCode, allowed.body).toBe(200);
    const elsewhere = await send(`/postback/walled?cid=${clickId}&payout=3&txid=w2`, '203.0.113.50');
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json().message).toBe("ip 203.0.113.50 is not in the network's allowlist");
    const bulk = await t.app.inject({
      method: 'POST',
      url: '/postbacks/walled',
      remoteAddress: '198.51.100.7',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: `${JSON.stringify({ cid: clickId, payout: 1, txid: 'w3' })}\n`,
    });
    expect(bulk.statusCode, bulk.body).toBe(200);
    // A network with neither a secret nor an allowlist still needs the global secret.
    const open = await send(`/postback/plain?cid=${clickId}&payout=3&txid=p1`, '198.51.100.7');
    expect(open.statusCode).toBe(403);
    expect(open.json().message).toBe('bad secret');
  });

  it('keeps the same secret across a restart on the same data directory', async () => {
    const secret = fs.readFileSync(secretFile(dataDir), 'utf8').trim();
    await t.close();
    await drainPending();
    t = await startApp({ ...secureDefault, KEYREV_DATA_DIR: dataDir });
    expect(fs.readFileSync(secretFile(dataDir), 'utf8').trim()).toBe(secret);
    expect(t.app.postbackSecret.generated).toBeUndefined();
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=1&txid=again&secret=${secret}` })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=1&txid=again2` })).statusCode).toBe(403);
  });
});

describe('KEYREV_POSTBACK_SECRET=off', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    await drainPending();
  });

  it('accepts postbacks without a secret, writes none, and says so on /health', async () => {
    t = await startApp({ KEYREV_POSTBACK_SECRET: 'off', KEYREV_FLUSH_INTERVAL_MS: '20' });
    const clickId = await clickOf(t);
    const res = await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&payout=5&txid=open` });
    expect(res.statusCode, res.body).toBe(200);
    expect(fs.existsSync(secretFile(t.dataDir))).toBe(false);
    expect(t.app.postbackSecret).toEqual({ mode: 'off' });
    expect((await t.app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ postbacks: { secret: 'off' } });
  });
});

describe('the real server (server/main.ts)', () => {
  const postbackUrl = (host: string, port: number, secret: string) =>
    `http://${host}:${port}/postback?cid={clickid}&payout={payout}&txid={txid}&status={status}&secret=${secret}`;

  it('prints the postback URL with the generated secret once, and not on the next start', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const run = async (env: Record<string, string>, check: (r: Spawned) => void) => {
      const r = spawnKeyrev({ KEYREV_DATA_DIR: dataDir, PORT: String(port), ...env });
      try {
        await waitFor200(`http://127.0.0.1:${port}/health`, 30_000);
        check(r);
      } finally {
        r.child.kill('SIGTERM');
        expect(await r.exited).toBe(0);
      }
    };
    // HOST 0.0.0.0 (the default) listens everywhere: the URL names localhost.
    await run({ HOST: '0.0.0.0' }, (r) => {
      const secret = fs.readFileSync(secretFile(dataDir), 'utf8').trim();
      expect(r.stdout().split(postbackUrl('localhost', port, secret))).toHaveLength(2);
      expect(r.stdout()).toContain(secretFile(dataDir));
    });
    const secret = fs.readFileSync(secretFile(dataDir), 'utf8').trim();
    await run({ HOST: '127.0.0.1' }, (r) => {
      expect(r.stdout()).not.toContain(secret);
      expect(r.stdout()).not.toMatch(/postback secret/);
    });
    await run({ HOST: '127.0.0.1', KEYREV_POSTBACK_SECRET: 'off' }, (r) => {
      expect(r.stderr()).toMatch(/^keyrev: warning: KEYREV_POSTBACK_SECRET=off: /m);
      expect(r.stdout()).not.toContain(secret);
    });
  }, 120_000);
});
