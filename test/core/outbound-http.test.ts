import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboundClient } from '../../core/outbound-http.js';

/** A real receiver on 127.0.0.1 that records what it is sent and answers per path. */
let server: http.Server;
let port: number;
const received: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2_000);
      if (req.url === '/redirect') return void res.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end();
      if (req.url === '/big') return void res.end('x'.repeat(100_000));
      if (req.url === '/endless') {
        res.writeHead(200);
        const tick = setInterval(() => res.write('y'.repeat(4096)), 5);
        res.on('close', () => clearInterval(tick));
        return;
      }
      res.writeHead(201, { 'content-type': 'text/plain' }).end(`got ${req.method} ${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the outbound client', () => {
  const open = createOutboundClient({ allow: ['127.0.0.1'] });
  afterAll(() => open.close());

  it('sends GET and POST with headers and body, and reads the status and the start of the answer', async () => {
    const get = await open.send({ url: `http://127.0.0.1:${port}/a?x=1`, method: 'GET', headers: { 'x-test': 'v' }, timeoutMs: 2_000 });
    expect(get).toMatchObject({ ok: true, status: 201, bodyStart: 'got GET ' });
    const post = await open.send({ url: `http://127.0.0.1:${port}/b`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":"é"}', timeoutMs: 2_000 });
    expect(post).toMatchObject({ ok: true, status: 201, bodyStart: 'got POST {"a":"é"}' });
    expect(received.at(-1)).toMatchObject({ method: 'POST', url: '/b', headers: { 'content-type': 'application/json', 'user-agent': 'keyrev' } });
    expect(received.at(-2)!.headers['x-test']).toBe('v');
  });

  it('never follows a redirect: a 3xx is the result', async () => {
    const before = received.length;
    expect(await open.send({ url: `http://127.0.0.1:${port}/redirect`, method: 'GET', timeoutMs: 2_000 })).toMatchObject({ ok: true, status: 302 });
    expect(received.length - before).toBe(1);
  });

  it('reads an answer only up to the cap, even an endless one', async () => {
    const big = await open.send({ url: `http://127.0.0.1:${port}/big`, method: 'GET', timeoutMs: 2_000 });
    expect(big.ok && big.bodyStart.length).toBe(1024);
    const endless = await open.send({ url: `http://127.0.0.1:${port}/endless`, method: 'GET', timeoutMs: 2_000 });
    expect(endless).toMatchObject({ ok: true, status: 200 });
    expect(endless.ok && endless.bodyStart.length).toBe(1024);
  });

  it('aborts at the timeout', async () => {
    const slow = await open.send({ url: `http://127.0.0.1:${port}/slow`, method: 'GET', timeoutMs: 200 });
    expect(slow).toMatchObject({ ok: false, refused: false, error: 'timed out after 200 ms' });
    expect(slow.latencyMs).toBeLessThan(1_000);
  });

  it('answers a failure as one line: connection refused, a header with a line break, another scheme', async () => {
    const closed = await open.send({ url: 'http://127.0.0.1:1/', method: 'GET', timeoutMs: 2_000 });
    expect(closed).toMatchObject({ ok: false, refused: false });
    expect(!closed.ok && closed.error).toMatch(/ECONNREFUSED/);
    expect(closed).toMatchObject({ permanent: false });
    const injected = await open.send({ url: `http://127.0.0.1:${port}/`, method: 'GET', headers: { 'x-a': 'b\r\nx-injected: 1' }, timeoutMs: 2_000 });
    expect(injected).toMatchObject({ ok: false, refused: false, permanent: true });
    // Node throws on a header value beyond Latin-1: a request that can never be built, not a network error.
    expect(await open.send({ url: `http://127.0.0.1:${port}/`, method: 'GET', headers: { 'x-kw': '日本' }, timeoutMs: 2_000 })).toMatchObject({ ok: false, permanent: true });
    expect(await open.send({ url: 'ftp://127.0.0.1/', method: 'GET', timeoutMs: 2_000 })).toMatchObject({ ok: false, permanent: true, error: 'scheme ftp: is not http or https' });
  });

  it('drops a caller\'s Host and hop-by-hop headers: they are the transport\'s', async () => {
    const sent = await open.send({
      url: `http://127.0.0.1:${port}/h`,
      method: 'POST',
      headers: { Host: 'evil.example', 'Transfer-Encoding': 'chunked', Connection: 'close', 'Content-Length': '1', Upgrade: 'websocket', 'x-kept': 'yes' },
      body: 'hello',
      timeoutMs: 2_000,
    });
    expect(sent).toMatchObject({ ok: true, status: 201, bodyStart: 'got POST hello' });
    const got = received.at(-1)!;
    expect(got.headers).toMatchObject({ host: `127.0.0.1:${port}`, 'content-length': '5', 'x-kept': 'yes' });
    expect(got.headers['transfer-encoding']).toBeUndefined();
    expect(got.headers.upgrade).toBeUndefined();
  });
});

describe('the SSRF guard', () => {
  const refusedUrls = [
    'http://127.0.0.1:PORT/',
    'http://10.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]:PORT/',
    'http://[::ffff:127.0.0.1]:PORT/',
    'http://[::ffff:169.254.169.254]/',
    // IPv4-compatible IPv6 (::/96): ipaddr.js calls it unicast.
    'http://[::127.0.0.1]:PORT/',
    'http://[::a9fe:a9fe]/',
    'http://[fd00::1]/',
    'http://100.64.0.1/',
    'http://192.168.1.1/',
    'http://172.16.0.1/',
    'http://0.0.0.0:PORT/',
    'http://[::]:PORT/',
    'http://localhost:PORT/',
  ];
  const withPort = (u: string) => u.replace('PORT', String(port));

  it('refuses loopback, private, CGNAT, link-local (metadata), unique-local and unspecified destinations, literal or by name', async () => {
    const guard = createOutboundClient({ allow: [] });
    for (const url of refusedUrls.map(withPort)) {
      expect(await guard.check(url), url).toMatch(/address \(not allowed unless KEYREV_OUTBOUND_ALLOW names it\)$/);
      const before = received.length;
      const sent = await guard.send({ url, method: 'GET', timeoutMs: 1_000 });
      expect(sent, url).toMatchObject({ ok: false, refused: true });
      expect(received.length).toBe(before);
    }
    expect(await guard.check(withPort('http://localhost:PORT/'))).toBe('localhost resolves to 127.0.0.1 is a loopback address (not allowed unless KEYREV_OUTBOUND_ALLOW names it)');
    // A public address passes the check (nothing is sent by check()).
    expect(await guard.check('https://93.184.215.14/x')).toBeUndefined();
    guard.close();
  });

  it('lets through what KEYREV_OUTBOUND_ALLOW names: an address, a CIDR, a host name', async () => {
    for (const allow of [['127.0.0.1'], ['127.0.0.0/8'], ['localhost']]) {
      const client = createOutboundClient({ allow });
      const url = allow[0] === 'localhost' ? `http://localhost:${port}/ok` : `http://127.0.0.1:${port}/ok`;
      expect(await client.check(url), allow[0]).toBeUndefined();
      expect(await client.send({ url, method: 'GET', timeoutMs: 2_000 }), allow[0]).toMatchObject({ ok: true, status: 201 });
      // Allowing 127.0.0.1 does not open the rest: 10.0.0.1 and the metadata address stay refused.
      expect(await client.check('http://10.0.0.1/')).toBeDefined();
      expect(await client.check('http://169.254.169.254/')).toBeDefined();
      client.close();
    }
    // A CIDR applies to the addresses a name resolves to as well.
    const byAddress = createOutboundClient({ allow: ['127.0.0.0/8'] });
    expect(await byAddress.send({ url: `http://localhost:${port}/ok`, method: 'GET', timeoutMs: 2_000 })).toMatchObject({ ok: true });
    byAddress.close();
    const ipv6 = createOutboundClient({ allow: ['::1'] });
    expect(await ipv6.check(`http://[::1]:${port}/`)).toBeUndefined();
    expect(await ipv6.check(`http://127.0.0.1:${port}/`)).toBeDefined();
    ipv6.close();
  });

  it('checks the addresses the connection itself resolves (no check() before): a name resolving to loopback is refused at send time', async () => {
    // The lookup of the connection itself is guarded: localhost is refused when sending, not only by check().
    const guard = createOutboundClient({ allow: [] });
    const sent = await guard.send({ url: `http://localhost:${port}/`, method: 'GET', timeoutMs: 1_000 });
    expect(sent).toMatchObject({ ok: false, refused: true, error: 'localhost resolves to 127.0.0.1 is a loopback address (not allowed unless KEYREV_OUTBOUND_ALLOW names it)' });
    guard.close();
  });
});
