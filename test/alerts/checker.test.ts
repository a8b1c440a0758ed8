import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveDeliveries, saveIncident } from '../../warehouse/alert-store.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';
import { sleep, startReceiver, waitFor } from './receiver.js';

/** The alert check against real ClickHouse, every 200 ms, with 1-minute windows and a local webhook receiver. */
describe('alert checks', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startApp({ KEYREV_ALERT_CHECK_MS: '200', KEYREV_OUTBOUND_ALLOW: '127.0.0.1', KEYREV_FLUSH_INTERVAL_MS: '20', KEYREV_PUBLIC_URL: 'https://track.example.com/' });
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  const api = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await t.app.inject({ method, url, headers: adminAuth, ...(payload ? { payload } : {}) });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json();
  };
  const campaign = async (name: string) => (await api('POST', '/api/campaigns', { name, offerUrl: 'https://offer.example/?c={clickid}', trafficSource: 'google' })).id as string;
  const click = async (campaignId: string) => {
    const id = (await t.app.inject({ method: 'GET', url: `/c/${campaignId}?kw=shoes` })).headers['x-keyrev-click-id'] as string;
    await t.app.keyrev.clicks.flusher.drain();
    return id;
  };
  const postback = async (query: string) => {
    expect((await t.app.inject({ method: 'GET', url: `/postback?${query}` })).body).toBe('OK');
    await t.app.keyrev.postbacks.flusher.drain();
  };
  /** Postbacks this process accepted so far (its /metrics counter). */
  const postbacksSoFar = async () => (await t.app.metrics.postbacks.get()).values.reduce((n, v) => n + v.value, 0);
  const webhook = async (path: string) =>
    (
      await api('POST', '/api/alert-channels', {
        type: 'webhook',
        url: `${receiver.base}${path}`,
        headers: { 'x-token': 'hook-secret-1' },
        body: '{"text":"{message}","state":"{state}","campaign":"{campaign}","rule":"{rule}","since":"{since}","link":"{link}"}',
      })
    ).id as string;

  it('no_sales: one alert when sales stop, none while it lasts, a recovery after a sale, a new alert for a new incident', async () => {
    const campaignId = await campaign('Spring "sale" <b>');
    const clickId = await click(campaignId);
    const channelId = await webhook('/hook');
    const rule = await api('POST', '/api/alert-rules', { name: 'No sales', condition: 'no_sales', campaignId, windowMinutes: 1, channels: [channelId] });
    expect(rule).toMatchObject({ enabled: true, windowMinutes: 1 });

    const hook = () => receiver.to('/hook');
    expect(await waitFor(() => hook().length, (n) => n >= 1)).toBe(1);
    const first = hook()[0]!;
    // The template's values are JSON-escaped: the campaign's quotes do not break the body.
    const body = JSON.parse(first.body);
    expect(body).toMatchObject({ state: 'firing', campaign: 'Spring "sale" <b>', rule: 'No sales' });
    expect(body.text).toMatch(/0 sales in the last 1 min \(1 click\) for campaign "Spring "sale" <b>"/);
    expect(body.text).toMatch(/Last sale: none in 30 days/);
    // The dashboard's report of the campaign (KEYREV_PUBLIC_URL), as the dashboard reads its view from the URL.
    const link = `https://track.example.com/?filter%5Bcampaign%5D=${campaignId}`;
    expect(body.link).toBe(link);
    expect(body.text).toContain(` Report: ${link}`);
    expect(first.headers['x-token']).toBe('hook-secret-1');
    expect(first.headers['content-type']).toBe('application/json');

    // Several checks later: still one.
    await sleep(1_200);
    expect(hook()).toHaveLength(1);

    await postback(`cid=${clickId}&txid=T1&status=sale&payout=12.5`);
    expect(await waitFor(() => hook().length, (n) => n >= 2)).toBe(2);
    expect(JSON.parse(hook()[1]!.body)).toMatchObject({ state: 'resolved' });
    expect(JSON.parse(hook()[1]!.body).text).toMatch(/1 sale in the last 1 min/);
    await sleep(600);
    expect(hook()).toHaveLength(2);

    // The sale is charged back: no sale stands in the window any more, a new incident.
    await postback(`cid=${clickId}&txid=T1&status=chargeback`);
    expect(await waitFor(() => hook().length, (n) => n >= 3)).toBe(3);
    expect(JSON.parse(hook()[2]!.body).state).toBe('firing');

    const { alerts } = await api('GET', '/api/alerts');
    const mine = alerts.filter((a: { ruleId: string }) => a.ruleId === rule.id);
    expect(mine.map((a: { state: string }) => a.state)).toEqual(['firing', 'resolved']);
    expect(mine[1]).toMatchObject({ condition: 'no_sales', value: 0, figure: '0 sales in the last 1 min (1 click)' });
    expect(mine[1].resolvedAt).not.toBeNull();
    // The recovery is written one version above the alert it was made from, whatever the clock says.
    const versions = await t.app.keyrev.warehouse.query<{ v: string }>('SELECT toString(version) AS v FROM alert_incidents WHERE incident_id = {id:String} ORDER BY version', { id: mine[1].id });
    expect(versions.map((r) => r.v)).toEqual(['1', '2']);
    expect(mine[1].deliveries.map((d: { event: string; ok: boolean; detail: string }) => [d.event, d.ok, d.detail])).toEqual([
      ['alert', true, 'HTTP 200'],
      ['recovery', true, 'HTTP 200'],
    ]);
    // A range before the incidents lists none of them.
    expect((await api('GET', '/api/alerts?from=2026-01-01&to=2026-01-02')).alerts).toEqual([]);
    expect((await t.app.inject({ method: 'GET', url: '/api/alerts?from=1960-01-01', headers: adminAuth })).statusCode).toBe(400);

    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/keyrev_alerts_total\{event="alert"\} 2/);
    expect(metrics).toMatch(/keyrev_alert_deliveries_total\{type="webhook",result="ok"\} 3/);
  });

  it('revenue_below: the revenue in the window and the last sale in the message', async () => {
    const campaignId = await campaign('Low earner');
    const clickId = await click(campaignId);
    await postback(`cid=${clickId}&txid=R1&status=sale&payout=5`);
    const channelId = await webhook('/revenue');
    await api('POST', '/api/alert-rules', { name: 'Revenue', condition: 'revenue_below', threshold: 100, campaignId, windowMinutes: 1, channels: [channelId] });
    expect(await waitFor(() => receiver.to('/revenue').length, (n) => n >= 1)).toBe(1);
    const minute = new Date().toISOString().slice(0, 10);
    expect(JSON.parse(receiver.to('/revenue')[0]!.body).text).toMatch(
      new RegExp(`revenue 5\\.00 in the last 1 min, below 100\\.00 \\(1 click\\) for campaign "Low earner", since .*\\. Last sale: ${minute} \\d\\d:\\d\\d UTC\\.`),
    );
  });

  it('sends nothing outside the active hours', async () => {
    const campaignId = await campaign('Night shop');
    await click(campaignId);
    const channelId = await webhook('/quiet');
    const hour = (h: number) => `${String((new Date().getUTCHours() + h) % 24).padStart(2, '0')}:00`;
    await api('POST', '/api/alert-rules', { name: 'Day only', condition: 'no_sales', campaignId, windowMinutes: 1, activeHours: { from: hour(2), to: hour(4), tz: 'UTC' }, channels: [channelId] });
    // The same rule with hours that hold now (across midnight in a zone 14 hours ahead) does alert.
    const awake = (h: number) => `${String((new Date().getUTCHours() + 14 + h + 24) % 24).padStart(2, '0')}:00`;
    const control = await webhook('/awake');
    await api('POST', '/api/alert-rules', { name: 'Now', condition: 'no_sales', campaignId, windowMinutes: 1, activeHours: { from: awake(-1), to: awake(1), tz: 'Pacific/Kiritimati' }, channels: [control] });
    expect(await waitFor(() => receiver.to('/awake').length, (n) => n >= 1)).toBe(1);
    await sleep(600);
    expect(receiver.to('/quiet')).toHaveLength(0);
  });

  it('postback_failures: the share of incoming postbacks refused, and of outgoing attempts failed', async () => {
    const channelId = await webhook('/postbacks');
    const hook = () => receiver.to('/postbacks');
    // Postbacks before the rule count in its window: no process start or rule creation resets it.
    const accepted = await postbacksSoFar();
    const rule = await api('POST', '/api/alert-rules', { name: 'Postbacks', condition: 'postback_failures', threshold: 0.5, windowMinutes: 1, channels: [channelId] });
    // Refused: no click id.
    for (let i = 0; i < 6; i++) expect((await t.app.inject({ method: 'GET', url: '/postback?payout=1' })).statusCode).toBe(400);
    expect(await waitFor(() => hook().length, (n) => n >= 1)).toBe(1);
    const [, share, refused, incoming] = /(\d+)% of postbacks failed in the last 1 min \(incoming: (\d+) of (\d+) refused; outgoing: 0 of 0 attempts failed\)/.exec(JSON.parse(hook()[0]!.body).text) ?? [];
    expect(Number(incoming) - Number(refused)).toBe(accepted);
    expect(Number(share)).toBeGreaterThanOrEqual(50);
    for (let i = 0; i < 8; i++) await postback(`cid=${1000 + i}&txid=ok${i}`);
    expect(await waitFor(() => hook().length, (n) => n >= 2)).toBe(2);
    expect(JSON.parse(hook()[1]!.body).state).toBe('resolved');
    // Outgoing postbacks' attempts (the outbound module's table) that got no 2xx answer count too.
    const at = new Date().toISOString().replace('T', ' ').replace('Z', '');
    const attempts = Array.from({ length: 20 }, (_, i) => ({ delivery_id: `d${i}`, attempt: 1, at, status_code: i < 15 ? 500 : 200, latency_ms: 5, error: '', answer: '' }));
    await t.app.keyrev.warehouse.insert('outbound_attempts', attempts);
    expect(await waitFor(() => hook().length, (n) => n >= 3)).toBe(3);
    expect(JSON.parse(hook()[2]!.body).text).toMatch(/outgoing: 15 of 20 attempts failed/);
    expect((await t.app.inject({ method: 'POST', url: '/api/alert-rules', headers: adminAuth, payload: { ...rule, id: undefined, createdAt: undefined, campaignId: 'abc' } })).statusCode).toBe(400);
  });

  it('refuses a rule naming a channel or a campaign that does not exist, or missing its threshold', async () => {
    const post = (payload: object) => t.app.inject({ method: 'POST', url: '/api/alert-rules', headers: adminAuth, payload });
    const base = { name: 'x', condition: 'no_sales', windowMinutes: 5 };
    expect((await post({ ...base, channels: ['nope'] })).json().message).toMatch(/no alert channel nope/);
    const channelId = await webhook('/unused');
    expect((await post({ ...base, campaignId: 'nope', channels: [channelId] })).json().message).toMatch(/no campaign nope/);
    expect((await post({ ...base, condition: 'revenue_below', channels: [channelId] })).statusCode).toBe(400);
    expect((await post({ ...base, windowMinutes: 0, channels: [channelId] })).statusCode).toBe(400);
    expect((await post({ ...base, activeHours: { from: '9:00', to: '21:00', tz: 'Mars/Base' }, channels: [channelId] })).statusCode).toBe(400);
    // A channel a rule sends to cannot be deleted.
    await api('POST', '/api/alert-rules', { ...base, channels: [channelId] });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/alert-channels/${channelId}`, headers: adminAuth })).statusCode).toBe(409);
  });

  it('sends the alert of a firing incident that has none recorded, and the recovery of a resolved one (a crash between write and send)', async () => {
    const wh = t.app.keyrev.warehouse;
    // Campaigns without clicks: the checks themselves neither open nor end an incident for them.
    const channelId = await webhook('/repair');
    const ruleOf = async (name: string) => (await api('POST', '/api/alert-rules', { name, condition: 'no_sales', campaignId: await campaign(name), windowMinutes: 1, channels: [channelId] })).id as string;
    const [lost, unrecovered] = [await ruleOf('Lost alert'), await ruleOf('Lost recovery')];
    const startedAt = new Date(Date.now() - 120_000);
    const incident = { condition: 'no_sales', scope: 'campaign', value: 0, figure: '0 sales in the last 1 min (3 clicks)', startedAt, version: '1' };
    await saveIncident(wh, { ...incident, incidentId: 'lostalert01', ruleId: lost, ruleName: 'Lost alert', state: 'firing', resolvedAt: undefined });
    await saveIncident(wh, { ...incident, incidentId: 'lostrecov01', ruleId: unrecovered, ruleName: 'Lost recovery', state: 'resolved', resolvedAt: new Date(Date.now() - 30_000), version: '2' });
    await saveDeliveries(wh, [{ incidentId: 'lostrecov01', event: 'alert', channelId, channelType: 'webhook', ok: true, attempts: 1, detail: 'HTTP 200', sentAt: startedAt }]);
    const hook = () => receiver.to('/repair');
    expect(await waitFor(() => hook().length, (n) => n >= 2)).toBe(2);
    await sleep(600);
    expect(hook()).toHaveLength(2);
    const bodies = hook().map((r) => JSON.parse(r.body) as { state: string; rule: string; text: string });
    expect(bodies.map((b) => [b.rule, b.state]).sort()).toEqual([
      ['Lost alert', 'firing'],
      ['Lost recovery', 'resolved'],
    ]);
    expect(bodies.find((b) => b.state === 'firing')!.text).toMatch(/0 sales in the last 1 min \(3 clicks\)/);
  });
});
