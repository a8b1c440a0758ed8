import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../../helpers/app.js';

describe('/api/networks and /api/currency-rates', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => t.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: adminAuth, ...(payload ? { payload } : {}) });

  it('creates, reads, changes and deletes a network, never showing its secrets', async () => {
    const created = await call('POST', '/api/networks', { slug: 'maxbounty', name: 'MaxBounty', secret: 'abcdefgh1', allowIps: ['192.0.2.0/24', '2001:db8::1'], currency: 'eur' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ id: 'maxbounty', slug: 'maxbounty', hasSecret: true, hasSigningKey: false, currency: 'EUR', duplicates: 'ignore', response: 'ok' });
    expect(created.body).not.toContain('abcdefgh1');
    expect((await call('POST', '/api/networks', { slug: 'maxbounty', name: 'Again' })).statusCode).toBe(409);
    const patched = await call('PATCH', '/api/networks/maxbounty', { duplicates: 'update', statusMap: { '7': 'chargeback' } });
    expect(patched.json()).toMatchObject({ duplicates: 'update', statusMap: { '7': 'chargeback' }, hasSecret: true, currency: 'EUR' });
    expect((await call('GET', '/api/networks')).json().networks.map((n: { slug: string }) => n.slug)).toEqual(['maxbounty']);
    expect((await call('DELETE', '/api/networks/maxbounty')).statusCode).toBe(204);
    expect((await call('GET', '/api/networks/maxbounty')).statusCode).toBe(404);
  });

  it.each([
    [{ slug: 'Bad Slug', name: 'x' }, 'body.slug'],
    [{ slug: 'a', name: 'x', allowIps: ['300.1.1.1'] }, 'body.allowIps.0: must be an IP address or CIDR range'],
    [{ slug: 'a', name: 'x', statusMap: { '1': 'paid' } }, 'body.statusMap.1'],
    [{ slug: 'a', name: 'x', duplicates: 'sometimes' }, 'body.duplicates'],
    [{ slug: 'a', name: 'x', secret: 'short' }, 'body.secret'],
    [{ slug: 'a', name: 'x', currency: 'EURO' }, 'body.currency: must be an ISO 4217 code such as USD'],
    [{ slug: 'a', name: 'x', surprise: 1 }, 'body'],
  ])('refuses %j with a clear 400', async (payload, message) => {
    const res = await call('POST', '/api/networks', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain(message);
  });

  it('needs the admin key', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/networks' })).statusCode).toBe(401);
  });

  it('keeps exchange rates into the account currency only', async () => {
    const ok = await call('PUT', '/api/currency-rates', { base: 'usd', rates: { eur: '1.0834', JPY: 0.0067 } });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ base: 'USD', rates: { EUR: '1.0834', JPY: '0.0067' } });
    expect((await call('GET', '/api/currency-rates')).json().rates).toEqual({ EUR: '1.0834', JPY: '0.0067' });
    const wrongBase = await call('PUT', '/api/currency-rates', { base: 'EUR', rates: {} });
    expect(wrongBase.json().message).toBe('body.base: rates must be into the account currency USD');
    expect((await call('PUT', '/api/currency-rates', { base: 'USD', rates: { EUR: '-1' } })).statusCode).toBe(400);
  });
});
