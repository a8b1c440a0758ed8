import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dimensionNames } from '../../analytics/dimensions.js';
import { metricNames, metrics } from '../../analytics/report-metrics.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

// GET /api/report/meta is what the dashboard builds its group-by list and report columns from.
describe('GET /api/report/meta', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => t?.close());

  const metaWith = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/report/meta', headers });

  it('lists every dimension and metric of analytics, in their order, with labels, help and kinds', async () => {
    const res = await metaWith(adminAuth);
    expect(res.statusCode).toBe(200);
    const meta = res.json<{ dimensions: { name: string; label: string }[]; metrics: { name: string; label: string; help: string; kind: string }[] }>();
    expect(meta.dimensions.map((d) => d.name)).toEqual(dimensionNames);
    expect(meta.metrics.map((m) => m.name)).toEqual(metricNames);
    expect(meta.dimensions).toContainEqual({ name: 'utmSource', label: 'utm_source' });
    expect(meta.dimensions).toContainEqual({ name: 'matchType', label: 'match type' });
    for (const m of meta.metrics) {
      expect(m.label, m.name).not.toBe('');
      expect(m.help, m.name).toBe(metrics[m.name as keyof typeof metrics].help);
    }
    const kind = (name: string) => meta.metrics.find((m) => m.name === name)?.kind;
    expect([kind('clicks'), kind('conversions'), kind('revenue'), kind('epc'), kind('cpa'), kind('roi'), kind('cr')]).toEqual([
      'count',
      'count',
      'money',
      'money',
      'money',
      'ratio',
      'ratio',
    ]);
  });

  it('answers a read-only report key too, and refuses a missing or wrong key with the error body', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/keys', headers: adminAuth, payload: { name: 'dashboard viewer' } });
    expect(created.statusCode).toBe(201);
    expect((await metaWith({ authorization: `Bearer ${created.json().key}` })).statusCode).toBe(200);

    for (const headers of [{}, { authorization: 'Bearer not-a-key-of-this-app' }] as Record<string, string>[]) {
      const refused = await metaWith(headers);
      expect(refused.statusCode).toBe(401);
      // The shape declared in the route's schema (and so in the dashboard's generated types).
      expect(refused.json()).toEqual({
        statusCode: 401,
        code: 'KR_UNAUTHORIZED',
        error: 'Unauthorized',
        message: 'missing or wrong API key (send Authorization: Bearer <key>)',
      });
    }
  });

  it('lists only dimensions /api/report groups by and metrics its rows carry', async () => {
    const meta = (await metaWith(adminAuth)).json<{ dimensions: { name: string }[]; metrics: { name: string }[] }>();
    for (const { name } of meta.dimensions) {
      const res = await t.app.inject({ method: 'GET', url: `/api/report?from=2026-01-01&to=2026-01-02&tz=UTC&groupBy=${name}`, headers: adminAuth });
      expect(res.statusCode, `groupBy=${name}: ${res.body}`).toBe(200);
      expect(Object.keys(res.json().totals).sort()).toEqual(meta.metrics.map((m) => m.name).sort());
    }
  });

  it('is described in /openapi.json, with its 200 and 401 answers', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const get = doc.paths['/api/report/meta']?.get;
    expect(Object.keys(get?.responses ?? {}).sort()).toEqual(['200', '401']);
    const okSchema = get.responses['200'].content['application/json'].schema;
    expect(okSchema.properties.metrics.items.properties.kind.enum).toEqual(['count', 'money', 'ratio']);
    expect(okSchema.properties.dimensions.items.properties.name.enum).toEqual(dimensionNames);
  });
});
