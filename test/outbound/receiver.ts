import http from 'node:http';
import type net from 'node:net';

export interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  atMs: number;
}

/**
 * A real HTTP receiver on 127.0.0.1 for outgoing postbacks: it records every request and answers
 * by `answer` (a status code, or a delay before a 200), per path.
 */
export async function startReceiver(answer: (req: Received, nth: number) => number | { delayMs: number; status?: number } = () => 200) {
  const received: Received[] = [];
  const seenByPath = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const r: Received = { method: req.method ?? '', path: url.pathname, query: url.searchParams, url: req.url ?? '', headers: req.headers, body, atMs: Date.now() };
      received.push(r);
      const nth = (seenByPath.get(r.path) ?? 0) + 1;
      seenByPath.set(r.path, nth);
      const a = answer(r, nth);
      if (typeof a === 'number') return void res.writeHead(a).end(a < 300 ? 'OK' : `error ${a}`);
      const timer = setTimeout(() => res.writeHead(a.status ?? 200).end('late'), a.delayMs);
      res.on('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    received,
    on: (path: string) => received.filter((r) => r.path === path),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function until<T>(what: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000, label = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${label} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
