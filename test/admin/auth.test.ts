import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

describe('API keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => t.close());

  it.each([
    [{}, 401],
    [{ authorization: 'Bearer wrong-key-of-some-length' }, 401],
    [{ authorization: 'Basic dXNlcjpwYXNz' }, 401],
    [{ authorization: 'Bearer' }, 401],
  ])('refuses the admin API with %j', async (headers, status) => {
    const res = await t.app.inject({ method: 'GET', url: '/api/campaigns', headers });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ code: 'KR_UNAUTHORIZED' });
  });

  it('issues a read-only report key that is shown once, stored as a digest, and cannot use the admin API', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/keys', headers: adminAuth, payload: { name: 'media buyer' } });
    expect(created.statusCode).toBe(201);
    const { id, key } = created.json();
    expect(key).toMatch(/^krr_/);
    const list = await t.app.inject({ method: 'GET', url: '/api/keys', headers: adminAuth });
    expect(list.json().keys).toEqual([expect.objectContaining({ id, name: 'media buyer' })]);
    expect(list.body).not.toContain(key);
    const stored = await t.app.inject({ method: 'GET', url: '/api/keys', headers: { authorization: `Bearer ${key}` } });
    expect(stored.statusCode).toBe(403);
    expect(stored.json()).toMatchObject({ code: 'KR_FORBIDDEN' });
    const campaigns = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: { authorization: `Bearer ${key}` }, payload: { name: 'x', offerUrl: 'https://x.example/' } });
    expect(campaigns.statusCode).toBe(403);

    expect((await t.app.inject({ method: 'DELETE', url: `/api/keys/${id}`, headers: adminAuth })).statusCode).toBe(204);
    const revoked = await t.app.inject({ method: 'GET', url: '/api/campaigns', headers: { authorization: `Bearer ${key}` } });
    expect(revoked.statusCode).toBe(401);
  });
});
