import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, tempDir, type TestApp } from '../helpers/app.js';
import { sleep, startReceiver, waitFor } from './receiver.js';

/** Incidents live in ClickHouse: a restart in the middle of one neither repeats its alert nor forgets it. */
describe('alerts across a restart', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const dataDir = tempDir();
  const env = { KEYREV_DATA_DIR: dataDir, KEYREV_ALERT_CHECK_MS: '200', KEYREV_OUTBOUND_ALLOW: '127.0.0.1', KEYREV_FLUSH_INTERVAL_MS: '20' };
  let t: TestApp | undefined;

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await t?.close();
    await receiver.close();
  });

  it('sends no second alert after a restart while firing, and the recovery after it', async () => {
    t = await startApp(env);
    const post = async (url: string, payload: object) => (await t!.app.inject({ method: 'POST', url, headers: adminAuth, payload })).json().id as string;
    const campaignId = await post('/api/campaigns', { name: 'Restarted', offerUrl: 'https://offer.example/' });
    const clickId = (await t.app.inject({ method: 'GET', url: `/c/${campaignId}` })).headers['x-keyrev-click-id'] as string;
    await t.app.keyrev.clicks.flusher.drain();
    const channelId = await post('/api/alert-channels', { type: 'webhook', url: `${receiver.base}/hook` });
    await post('/api/alert-rules', { name: 'No sales', condition: 'no_sales', campaignId, windowMinutes: 1, channels: [channelId] });
    expect(await waitFor(() => receiver.received.length, (n) => n >= 1)).toBe(1);
    await t.close();

    t = await startApp(env);
    await sleep(1_200);
    expect(receiver.received).toHaveLength(1);
    const { alerts } = (await t.app.inject({ method: 'GET', url: '/api/alerts', headers: adminAuth })).json();
    expect(alerts.map((a: { state: string }) => a.state)).toEqual(['firing']);

    expect((await t.app.inject({ method: 'GET', url: `/postback?cid=${clickId}&txid=1&status=sale` })).body).toBe('OK');
    expect(await waitFor(() => receiver.received.length, (n) => n >= 2)).toBe(2);
    expect(JSON.parse(receiver.received[1]!.body)).toMatchObject({ state: 'resolved', rule: 'No sales', campaign: 'Restarted' });
  });

  it('runs no checks where KEYREV_JOBS is off: with several processes, one sends', async () => {
    await t!.close();
    t = await startApp({ ...env, KEYREV_JOBS: 'off' });
    expect(t.app.jobs.list().find((j) => j.name === 'alert-check')).toMatchObject({ scope: 'cluster', enabled: false });
  });
});
