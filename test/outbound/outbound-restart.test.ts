import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnKeyrev, waitFor200, type Spawned } from '../helpers/process.js';
import { tempDir } from '../helpers/temp.js';
import { startReceiver, until } from './receiver.js';

/**
 * A real keyrev process killed with SIGKILL and started again on the same data directory: each
 * (conversion, status, rule) is delivered exactly once. chdb holds a data directory in one
 * process, so two keyrev processes cannot share the embedded warehouse; what makes several
 * processes on one ClickHouse server safe is that only the KEYREV_JOBS=on process sends, which
 * is checked here: a KEYREV_JOBS=off process records the conversions and sends nothing.
 */
describe('outgoing postbacks across SIGKILL and restarts', () => {
  const adminKey = 'restart-admin-key-0123456789';
  const dataDir = tempDir();
  let proc: Spawned | undefined;
  let rx: Awaited<ReturnType<typeof startReceiver>>;

  afterAll(async () => {
    proc?.child.kill('SIGKILL');
    await rx?.close();
  });

  async function start(jobs: 'on' | 'off') {
    const port = await freePort();
    proc = spawnKeyrev({ PORT: String(port), HOST: '127.0.0.1', KEYREV_DATA_DIR: dataDir, KEYREV_ADMIN_KEY: adminKey, KEYREV_POSTBACK_SECRET: 'off', KEYREV_OUTBOUND_ALLOW: '127.0.0.1', KEYREV_JOBS: jobs, KEYREV_FLUSH_INTERVAL_MS: '100' });
    const base = `http://127.0.0.1:${port}`;
    await waitFor200(`${base}/health`, 20_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${proc!.stderr()}`);
    });
    return base;
  }
  async function kill() {
    proc!.child.kill('SIGKILL');
    await proc!.exited;
  }
  const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  const delivered = async (base: string) =>
    ((await (await fetch(`${base}/api/postback-deliveries?state=delivered&limit=100`, { headers: { authorization: auth.authorization } })).json()) as { rows: unknown[] }).rows.length;

  it('delivers each (conversion, status, rule) once: recorded ones are not sent again, acknowledged ones are sent after a SIGKILL, only by the KEYREV_JOBS=on process', async () => {
    rx = await startReceiver();
    let base = await start('on');
    const campaign = (await (await fetch(`${base}/api/campaigns`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'r', offerUrl: 'https://offer.example/' }) })).json()) as { id: string };
    const created = await fetch(`${base}/api/postback-rules`, { method: 'POST', headers: auth, body: JSON.stringify({ scope: 'global', url: `${rx.base}/r?c={clickid}&s={status}`, statuses: ['lead', 'sale'] }) });
    expect(created.status).toBe(201);
    const clicks: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${base}/c/${campaign.id}`, { redirect: 'manual' });
      clicks.push(res.headers.get('x-keyrev-click-id')!);
    }
    // The leads go out before the kill; the sales are acknowledged and the process killed at once.
    for (const c of clicks) expect(await (await fetch(`${base}/postback?cid=${c}&txid=A&status=lead&payout=1`)).text()).toBe('OK');
    await until(() => rx.received.length === 5, 8_000, 'five leads');
    // Recorded as delivered (a crash between a send and its record would send it again: at least once on the wire).
    await until(async () => (await delivered(base)) === 5, 5_000, 'five leads recorded');
    for (const c of clicks) expect(await (await fetch(`${base}/postback?cid=${c}&txid=A&status=sale&payout=2`)).text()).toBe('OK');
    await kill();

    // KEYREV_JOBS=off: the spooled sales reach ClickHouse, and nothing is sent from this process.
    const beforeOff = rx.received.length;
    base = await start('off');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(rx.received.length).toBe(beforeOff);
    await kill();

    base = await start('on');
    await until(() => rx.received.length === 10, 10_000, 'five sales');
    await until(async () => (await delivered(base)) === 10, 5_000, 'ten recorded');
    await new Promise((r) => setTimeout(r, 500));
    // The leads, sent and recorded before the first kill, were not sent again by either restart.
    const byKey = new Map<string, number>();
    for (const r of rx.received) byKey.set(`${r.query.get('c')}/${r.query.get('s')}`, (byKey.get(`${r.query.get('c')}/${r.query.get('s')}`) ?? 0) + 1);
    expect(byKey.size).toBe(10);
    expect([...byKey].filter(([, n]) => n !== 1)).toEqual([]);
    expect(await delivered(base)).toBe(10);
    // Three keyrev processes start in turn: alone it takes 20-35 s on this loaded 2-core machine,
    // beside other test files more than 45 s.
  }, 90_000);
});
