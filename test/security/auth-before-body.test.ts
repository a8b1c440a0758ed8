import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

/**
 * Attack: probing the API without a key. The key was checked in a preHandler, after the body was
 * read and validated, so a caller without a key got 400s describing the schema (field names,
 * rules), 413s and 415s, and made keyrev read and parse up to 1 MB per request. Now the key is
 * checked in onRequest: a 401 (or a 403 for a read-only key on a route that changes something)
 * before anything else, and the body is never read.
 */

/** Every route as method and URL, read from Fastify's own route tree: a new route is covered without editing this test. */
function routesOf(app: FastifyInstance): { method: string; url: string }[] {
  const routes: { method: string; url: string }[] = [];
  const path: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    path.length = depth;
    path.push(m[2]!);
    for (const method of m[3]?.split(', ') ?? []) routes.push({ method, url: path.join('') });
  }
  return routes;
}

const bodies: { name: string; headers: Record<string, string>; payload?: string | Buffer; query?: string }[] = [
  { name: 'no body', headers: {} },
  { name: 'invalid JSON', headers: { 'content-type': 'application/json' }, payload: '{"name":' },
  { name: 'a 2 MB body (over the 1 MB limit)', headers: { 'content-type': 'application/json' }, payload: Buffer.alloc(2 * 1024 * 1024, 'a') },
  { name: 'a content type no route takes', headers: { 'content-type': 'application/xml' }, payload: '<x/>' },
  { name: 'an invalid query', headers: {}, query: '?from=never&to=2026-99-99&limit=-5&format=exe&groupBy=nothing' },
];

describe('the API key is checked before anything else', () => {
  let t: TestApp;
  let api: { method: string; url: string }[];
  let reportKey: string;

  beforeAll(async () => {
    t = await startApp();
    api = routesOf(t.app).filter((r) => r.url.startsWith('/api/'));
    reportKey = (await t.app.inject({ method: 'POST', url: '/api/keys', headers: adminAuth, payload: { name: 'reader' } })).json().key;
  });
  afterAll(async () => t?.close());

  const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, 'k3x9q2m7ab');

  it('finds the API routes in the route tree', () => {
    // Guards the enumeration itself: these must be among them, each with its methods.
    expect(api).toEqual(
      expect.arrayContaining([
        { method: 'POST', url: '/api/campaigns' },
        { method: 'PATCH', url: '/api/campaigns/:id' },
        { method: 'PUT', url: '/api/currency-rates' },
        { method: 'GET', url: '/api/clicks/:clickId' },
        { method: 'GET', url: '/api/conversions' },
        { method: 'DELETE', url: '/api/keys/:id' },
        { method: 'GET', url: '/api/postbacks/log' },
        { method: 'GET', url: '/api/report/meta' },
        { method: 'GET', url: '/api/export' },
      ]),
    );
    expect(api.length).toBeGreaterThanOrEqual(20);
  });

  const keys = [
    ['no key', {}],
    ['a wrong key', { authorization: 'Bearer wrong-key-0123456789abcdef' }],
    ['a malformed header', { authorization: 'Basic d3Jvbmc6a2V5' }],
  ] as const;

  it.each(keys)('answers 401 KR_UNAUTHORIZED to %s on every /api route, whatever the body', async (_name, auth) => {
    const failures: string[] = [];
    for (const { method, url } of api) {
      for (const b of bodies) {
        const res = await t.app.inject({
          method: method as 'GET',
          url: concrete(url) + (b.query ?? ''),
          headers: { ...auth, ...b.headers },
          ...(b.payload === undefined ? {} : { payload: b.payload }),
        });
        if (res.statusCode !== 401 || (method !== 'HEAD' && res.json().code !== 'KR_UNAUTHORIZED')) failures.push(`${method} ${url} with ${b.name}: ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers a read-only report key 403 on every route that changes something, whatever the body', async () => {
    const failures: string[] = [];
    for (const { method, url } of api.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method))) {
      for (const b of bodies) {
        const res = await t.app.inject({
          method: method as 'POST',
          url: concrete(url) + (b.query ?? ''),
          headers: { authorization: `Bearer ${reportKey}`, ...b.headers },
          ...(b.payload === undefined ? {} : { payload: b.payload }),
        });
        if (res.statusCode !== 403 || res.json().code !== 'KR_FORBIDDEN') failures.push(`${method} ${url} with ${b.name}: ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('still validates what an admin sends', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: { ...adminAuth, 'content-type': 'application/json' }, payload: '{"name":' });
    expect(res.statusCode).toBe(400);
    const missing = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'x' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toMatch(/^body\.offerUrl: /);
  });

  it('answers 401 at once to a request whose body never arrives, and closes the connection', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as net.AddressInfo).port;
    const failures: string[] = [];
    await Promise.all(
      api.map(async ({ method, url }) => {
        const r = await new Promise<{ data: string; closed: boolean }>((resolve) => {
          let data = '';
          const socket = net.connect(port, '127.0.0.1', () =>
            // The headers promise a body that is never sent.
            socket.write(`${method} ${concrete(url)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n`),
          );
          socket.setEncoding('latin1');
          socket.on('data', (chunk: string) => (data += chunk));
          socket.on('error', () => {});
          const timer = setTimeout(() => (socket.destroy(), resolve({ data, closed: false })), 1_500);
          socket.on('close', () => (clearTimeout(timer), resolve({ data, closed: true })));
        });
        if (!/^HTTP\/1\.1 401 /.test(r.data)) failures.push(`${method} ${url}: ${r.data ? r.data.split('\r\n')[0] : 'no answer within 1.5 s'}`);
        else if (!r.closed) failures.push(`${method} ${url}: answered, but the connection stays open for the unread body`);
      }),
    );
    expect(failures).toEqual([]);
  });
});
