import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

describe('campaigns API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => t.close());

  const post = (body: unknown, headers: Record<string, string> = adminAuth) =>
    t.app.inject({ method: 'POST', url: '/api/campaigns', headers, payload: body as object });

  it('creates a campaign with defaults and keeps macros in the offer URL as written', async () => {
    const res = await post({ name: 'Running shoes', offerUrl: 'https://shop.example/land?s={clickid}&kw={keyword}' });
    expect(res.statusCode).toBe(201);
    const c = res.json();
    expect(c).toMatchObject({
      name: 'Running shoes',
      offerUrl: 'https://shop.example/land?s={clickid}&kw={keyword}',
      status: 'active',
      costModel: 'none',
      trafficSource: '',
    });
    expect(c.id).toMatch(/^[0-9a-z]{10}$/);
    const got = await t.app.inject({ method: 'GET', url: `/api/campaigns/${c.id}`, headers: adminAuth });
    expect(got.json()).toEqual(c);
  });

  it('changes only the fields a PATCH names', async () => {
    const c = (await post({ name: 'A', offerUrl: 'https://a.example/', trafficSource: 'google', costModel: 'cpc', costValue: 0.4 })).json();
    const res = await t.app.inject({ method: 'PATCH', url: `/api/campaigns/${c.id}`, headers: adminAuth, payload: { status: 'paused' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'A', status: 'paused', trafficSource: 'google', costModel: 'cpc', costValue: 0.4 });
    expect(res.json().updatedAt >= c.updatedAt).toBe(true);
  });

  it('lists and deletes', async () => {
    const c = (await post({ name: 'To delete', offerUrl: 'http://d.example/' })).json();
    const list = await t.app.inject({ method: 'GET', url: '/api/campaigns', headers: adminAuth });
    expect(list.json().campaigns.map((x: { id: string }) => x.id)).toContain(c.id);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/campaigns/${c.id}`, headers: adminAuth })).statusCode).toBe(204);
    const gone = await t.app.inject({ method: 'GET', url: `/api/campaigns/${c.id}`, headers: adminAuth });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'KR_NOT_FOUND', message: `no campaign ${c.id}` });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/campaigns/${c.id}`, headers: adminAuth })).statusCode).toBe(404);
  });

  it('keeps campaigns across a restart (settings live in ClickHouse)', async () => {
    const c = (await post({ name: 'Durable', offerUrl: 'https://p.example/' })).json();
    await t.close();
    t = await startApp({ KEYREV_DATA_DIR: t.dataDir });
    const got = await t.app.inject({ method: 'GET', url: `/api/campaigns/${c.id}`, headers: adminAuth });
    expect(got.statusCode).toBe(200);
    expect(got.json().name).toBe('Durable');
  });

  it.each([
    [{ offerUrl: 'https://x.example/' }, /^body\.name: /],
    [{ name: 'x', offerUrl: 'javascript:alert(1)' }, /^body\.offerUrl: must be an http\(s\) URL, with macros only after the host$/],
    [{ name: 'x', offerUrl: 'ftp://x.example/' }, /^body\.offerUrl: must be an http\(s\) URL, with macros only after the host$/],
    [{ name: 'x', offerUrl: 'https://x.example/', costModel: 'free' }, /^body\.costModel: /],
    [{ name: 'x', offerUrl: 'https://x.example/', unknownField: 1 }, /unknownField|Unrecognized/],
    [{ name: 'x'.repeat(201), offerUrl: 'https://x.example/' }, /^body\.name: /],
    [{ name: 'x', offerUrl: 'https://{sub1}/land' }, /^body\.offerUrl: must be an http\(s\) URL/],
    [{ name: 'x', offerUrl: 'https://shop.{sub1}.example/' }, /^body\.offerUrl: must be an http\(s\) URL/],
    [{ name: 'x', offerUrl: 'https://a.example/', fallbackUrl: '//evil.example/' }, /^body\.fallbackUrl: /],
  ])('answers 400 with a one-line reason for %j', async (body, message) => {
    const before = (await t.app.inject({ method: 'GET', url: '/api/campaigns', headers: adminAuth })).json().campaigns.length;
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, code: 'KR_BAD_REQUEST', error: 'Bad Request' });
    expect(res.json().message).toMatch(message);
    expect(res.json().message).not.toContain('\n');
    const after = (await t.app.inject({ method: 'GET', url: '/api/campaigns', headers: adminAuth })).json().campaigns.length;
    expect(after).toBe(before);
  });

  it('answers 400 for a body that is not JSON and 415 for another content type', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: { ...adminAuth, 'content-type': 'application/json' }, payload: '{nope' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('KR_BAD_REQUEST');
    const xml = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: { ...adminAuth, 'content-type': 'application/xml' }, payload: '<a/>' });
    expect(xml.statusCode).toBe(415);
    expect(xml.json().code).toBe('KR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses an empty PATCH', async () => {
    const c = (await post({ name: 'P', offerUrl: 'https://p.example/' })).json();
    const res = await t.app.inject({ method: 'PATCH', url: `/api/campaigns/${c.id}`, headers: adminAuth, payload: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/nothing to change/);
  });
});
