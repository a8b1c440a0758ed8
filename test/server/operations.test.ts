import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedWarehouse } from '../../warehouse/embedded.js';
import { adminAuth, startApp, tempDir, type TestApp } from '../helpers/app.js';
import { FlakyWarehouse } from '../helpers/flaky-warehouse.js';

describe('health, metrics and the API description', () => {
  let t: TestApp;
  let flaky: FlakyWarehouse;
  beforeAll(async () => {
    const dataDir = tempDir();
    flaky = new FlakyWarehouse(await EmbeddedWarehouse.open(dataDir));
    t = await startApp({ KEYREV_DATA_DIR: dataDir }, { warehouse: flaky });
  });
  afterAll(async () => t.close());

  it('reports health with the warehouse kind, schema version and spool', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', warehouse: 'embedded', database: 'keyrev', schemaVersion: expect.any(Number), spool: { clicks: { segments: 0 } } });
  });

  it('serves Prometheus metrics counting requests and refusals', async () => {
    await t.app.inject({ method: 'GET', url: '/api/campaigns' }); // 401
    await t.app.inject({ method: 'GET', url: '/no/such/route' }); // 404
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/keyrev_http_requests_total\{route="\/api\/campaigns",status="401"\} 1/);
    expect(res.body).toMatch(/keyrev_rejects_total\{code="KR_UNAUTHORIZED"\} 1/);
    expect(res.body).toMatch(/keyrev_rejects_total\{code="KR_NOT_FOUND"\} 1/);
    expect(res.body).toMatch(/keyrev_spool_segments\{table="clicks"\} 0/);
    expect(res.body).toMatch(/keyrev_flush_lag_seconds\{table="clicks"\} 0/);
  });

  it('counts 503 refusals by their code too', async () => {
    flaky.down = true;
    try {
      const res = await t.app.inject({ method: 'GET', url: '/api/clicks/1190958357420605440', headers: adminAuth });
      expect(res.statusCode).toBe(503);
      expect(res.json().code).toBe('KR_WAREHOUSE_UNAVAILABLE');
    } finally {
      flaky.down = false;
    }
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^keyrev_rejects_total\{code="KR_WAREHOUSE_UNAVAILABLE"\} 1$/m);
  });

  it('answers an unknown route with the JSON error shape', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ statusCode: 404, code: 'KR_NOT_FOUND', error: 'Not Found', message: 'no route GET /nope' });
  });

  it('describes the API in OpenAPI, generated from the same zod schemas that validate', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    const create = doc.paths['/api/campaigns'].post;
    const schema = create.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'offerUrl']));
    expect(schema.properties.costModel.enum).toEqual(['none', 'cpc', 'cpm', 'cpa', 'revshare']);
    expect(doc.paths['/c/{campaignId}']).toBeDefined();
    for (const path of ['/postback', '/postback/{network}', '/postbacks', '/api/networks', '/api/currency-rates', '/api/postbacks/log', '/api/conversions', '/api/report', '/api/timeseries', '/api/export']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const reportParams = doc.paths['/api/report'].get.parameters.map((p: { name: string }) => p.name);
    expect(reportParams).toEqual(expect.arrayContaining(['from', 'to', 'tz', 'groupBy', 'sort', 'limit', 'basis']));
    expect(doc.paths['/api/networks'].post.requestBody.content['application/json'].schema.properties.duplicates.enum).toEqual(['ignore', 'new', 'update', 'add']);
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it('refuses a body over the size limit with 413', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: { ...adminAuth, 'content-type': 'application/json' }, payload: `{"name":"${'x'.repeat(2 * 1024 * 1024)}"}` });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('KR_PAYLOAD_TOO_LARGE');
  });
});
