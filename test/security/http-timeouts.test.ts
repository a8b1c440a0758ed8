import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startApp, type TestApp } from '../helpers/app.js';

/**
 * Attack: slow clients (slowloris). Before the fix nothing limited how long a request may take:
 * 800 of 800 POSTs sending their body one byte per 10 s to /postback and /postbacks were all still
 * open after 130 s, each holding a socket (and a file descriptor) for as long as the client liked.
 * Now headers must arrive within KEYREV_HEADERS_TIMEOUT_MS, a body the route reads whole within
 * KEYREV_BODY_TIMEOUT_MS, a streamed body (POST /postbacks) may not go silent for longer than
 * KEYREV_STREAM_IDLE_TIMEOUT_MS, an idle keep-alive connection is closed after
 * KEYREV_KEEP_ALIVE_TIMEOUT_MS, and connections past KEYREV_MAX_CONNECTIONS are refused.
 * Real sockets against a listening keyrev, since app.inject has no connection to hold open.
 */
const limits = { headers: 1_000, body: 1_500, idle: 1_500, keepAlive: 1_000, connections: 60 };
// Node checks headers deadlines once per check interval (at most a second, see server/app.ts)
// and adds a second to the keep-alive timeout; the rest is slack for a loaded test machine.
const slack = 1_500;

interface Exchange {
  socket: net.Socket;
  /** What the server sent so far. */
  received(): string;
  /** Resolves when the server closed the connection, or with `closed: false` after `withinMs`. */
  closed(withinMs: number): Promise<{ closed: boolean; afterMs: number; data: string }>;
}

const open: net.Socket[] = [];
const timers: NodeJS.Timeout[] = [];

function connect(port: number): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    let closedAt: number | undefined;
    const socket = net.connect(port, '127.0.0.1');
    open.push(socket);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', () => {});
    const whenClosed = new Promise<void>((done) => socket.on('close', () => ((closedAt = Date.now()), done())));
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closed: async (withinMs) => {
          await Promise.race([whenClosed, new Promise((r) => setTimeout(r, withinMs))]);
          return { closed: closedAt !== undefined, afterMs: (closedAt ?? Date.now()) - started, data };
        },
      }),
    );
    socket.once('error', reject);
  });
}

/** Writes one byte of `text` every `everyMs` while the socket is open (a slowloris client). */
function trickle(socket: net.Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || socket.writableEnded || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  }, everyMs);
  timers.push(timer);
}

function statusOf(data: string): number | undefined {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
  return m ? Number(m[1]) : undefined;
}

function errorCodeOf(data: string): string | undefined {
  const body = data.slice(data.indexOf('\r\n\r\n') + 4);
  try {
    return (JSON.parse(body) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

describe('slow and idle clients', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startApp({
      KEYREV_HEADERS_TIMEOUT_MS: String(limits.headers),
      KEYREV_BODY_TIMEOUT_MS: String(limits.body),
      KEYREV_STREAM_IDLE_TIMEOUT_MS: String(limits.idle),
      KEYREV_KEEP_ALIVE_TIMEOUT_MS: String(limits.keepAlive),
      KEYREV_MAX_CONNECTIONS: String(limits.connections),
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });

  afterEach(() => {
    for (const timer of timers.splice(0)) clearInterval(timer);
    for (const socket of open.splice(0)) socket.destroy();
  });

  afterAll(async () => t?.close());

  it('answers a body that trickles in 408 KR_REQUEST_TIMEOUT and closes the connection, on /postback and the admin API', async () => {
    const body = JSON.stringify({ cid: '1', payout: '1', pad: 'x'.repeat(500) });
    const heads = [
      ...Array.from({ length: 20 }, () => `POST /postback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`),
      ...Array.from(
        { length: 5 },
        () => `POST /api/campaigns HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      ),
      // Chunked: no length announced, the same deadline.
      `POST /postback HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`,
    ];
    const exchanges = await Promise.all(heads.map(() => connect(port)));
    exchanges.forEach((x, i) => {
      x.socket.write(heads[i]!);
      trickle(x.socket, heads[i]!.includes('chunked') ? `${body.length.toString(16)}\r\n${body}` : body, 200);
    });
    const results = await Promise.all(exchanges.map((x) => x.closed(limits.body + slack)));
    for (const [i, r] of results.entries()) {
      expect(r.closed, `${heads[i]!.split('\r\n')[0]}: still open after ${r.afterMs} ms`).toBe(true);
      expect(statusOf(r.data), r.data).toBe(408);
      expect(errorCodeOf(r.data), r.data).toBe('KR_REQUEST_TIMEOUT');
      expect(r.data.toLowerCase()).toContain('connection: close');
      expect(r.afterMs).toBeGreaterThanOrEqual(limits.body - 100);
    }
  });

  it('still takes a body that arrives in time, and a GET whose unread body trickles is cut after its answer', async () => {
    const body = 'cid=abc';
    const x = await connect(port);
    x.socket.write(`POST /postback HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`);
    trickle(x.socket, body, 100);
    await expect.poll(() => statusOf(x.received()), { timeout: 3_000 }).toBe(400);
    // A 400 about the click id: the body was read whole (not a timeout).
    expect(x.received()).toContain('"KR_BAD_REQUEST"');

    // Fastify never reads a GET's body: the answer goes out at once, and the connection does not
    // stay open for the rest of a body trickling in.
    const g = await connect(port);
    g.socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`);
    trickle(g.socket, 'y'.repeat(1000), 200);
    const r = await g.closed(limits.body + slack);
    expect(r.closed, `still open after ${r.afterMs} ms`).toBe(true);
    expect(statusOf(r.data)).toBe(200);
  });

  it('closes a connection whose headers trickle in, or that sends nothing, after the headers timeout', async () => {
    const silent = await connect(port);
    const slow = await connect(port);
    trickle(slow.socket, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: ' + 'z'.repeat(100) + '\r\n\r\n', 150);
    const [s, h] = await Promise.all([silent.closed(limits.headers + slack), slow.closed(limits.headers + slack)]);
    for (const r of [s, h]) {
      expect(r.closed, `still open after ${r.afterMs} ms`).toBe(true);
      expect(r.afterMs).toBeGreaterThanOrEqual(limits.headers - 100);
    }
    // Answered in the one error shape where there was a request begun.
    expect(statusOf(h.data), h.data).toBe(408);
    expect(errorCodeOf(h.data), h.data).toBe('KR_REQUEST_TIMEOUT');

    // What Node refuses before routing is answered in the same shape, and closed.
    const garbage = await connect(port);
    garbage.socket.write('NOT HTTP AT ALL\r\n\r\n');
    const g = await garbage.closed(1_000);
    expect(g.closed).toBe(true);
    expect(statusOf(g.data), g.data).toBe(400);
    expect(errorCodeOf(g.data), g.data).toBe('KR_BAD_REQUEST');
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const x = await connect(port);
    x.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await x.closed(limits.keepAlive + 1_000 + slack);
    expect(r.closed, `still open after ${r.afterMs} ms`).toBe(true);
    expect(statusOf(r.data)).toBe(200);
    expect(r.afterMs).toBeGreaterThanOrEqual(limits.keepAlive - 100);
  });

  it('reads a bulk stream for as long as it sends (past the body deadline) and closes it when it goes silent', async () => {
    const head = `POST /postbacks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminKey}\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
    // A line every 300 ms for twice the body deadline: a live stream, however long, is not cut.
    const live = await connect(port);
    live.socket.write(head);
    const lines = Math.ceil((2 * limits.body) / 300);
    for (let i = 0; i < lines; i++) {
      live.socket.write(chunk(`{"cid":"not-a-click-${i}"}\n`));
      await new Promise((r) => setTimeout(r, 300));
    }
    live.socket.write('0\r\n\r\n');
    await expect.poll(() => live.received(), { timeout: 5_000 }).toContain('"lines"');
    expect(statusOf(live.received())).toBe(200);
    expect(JSON.parse(live.received().slice(live.received().indexOf('\r\n\r\n') + 4))).toMatchObject({ lines, rejected: lines });

    // A stream that stops sending is answered 408 and closed after the idle timeout.
    const stalled = await connect(port);
    stalled.socket.write(head + chunk('{"cid":"1"}\n'));
    const r = await stalled.closed(limits.idle + slack);
    expect(r.closed, `still open after ${r.afterMs} ms`).toBe(true);
    expect(r.afterMs).toBeGreaterThanOrEqual(limits.idle - 100);
    expect(statusOf(r.data), r.data).toBe(408);
    expect(errorCodeOf(r.data), r.data).toBe('KR_REQUEST_TIMEOUT');

    // Gzipped (a gzip header, then silence): should the route not answer, the connection is cut
    // all the same once it stays silent for a second idle period.
    const gz = await connect(port);
    const gzipHeader = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]);
    gz.socket.write(Buffer.concat([Buffer.from(head.replace('\r\n\r\n', '\r\nContent-Encoding: gzip\r\n\r\n') + `${gzipHeader.length.toString(16)}\r\n`), gzipHeader, Buffer.from('\r\n')]));
    const g = await gz.closed(2 * limits.idle + slack);
    expect(g.closed, `still open after ${g.afterMs} ms`).toBe(true);
    expect(g.afterMs).toBeGreaterThanOrEqual(limits.idle - 100);
    expect(g.data, 'refused as malformed instead of timed').not.toContain('KR_BAD_REQUEST');
  });

  it('refuses connections past KEYREV_MAX_CONNECTIONS and takes new ones once some closed', async () => {
    // Held open by sending nothing: the headers timeout (1 s) closes them, so the test acts sooner.
    const held = await Promise.all(Array.from({ length: limits.connections }, () => connect(port)));
    await new Promise((r) => setTimeout(r, 50));
    const extra = await connect(port);
    const refused = await extra.closed(500);
    expect(refused.closed, 'the connection past the limit is still open').toBe(true);
    expect(refused.data).toBe('');
    for (const x of held.slice(0, 5)) x.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const again = await connect(port);
    again.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const r = await again.closed(3_000);
    expect(statusOf(r.data), r.data).toBe(200);
  });
});
