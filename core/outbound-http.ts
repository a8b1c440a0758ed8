import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { transportHeaderNames } from './schemas.js';

/**
 * Requests keyrev sends to addresses its users choose (outgoing postbacks, alert webhooks), with a
 * guard against server-side request forgery: a destination on loopback, a private or CGNAT range,
 * link-local (the cloud metadata address 169.254.169.254 among them), unique-local IPv6, or any
 * other range that is not public unicast is refused unless `allow` names its host or a CIDR holding
 * it (KEYREV_OUTBOUND_ALLOW). The check is made on the addresses DNS gives the connection itself
 * (a custom `lookup`), so a name that resolves to a public address when a rule is saved and to
 * 127.0.0.1 when it is sent (DNS rebinding) is refused too. Redirects are never followed. A
 * host name in `allow` is trusted as DNS resolves it: whatever address it names is reached.
 * Transport headers (Host, Content-Length, Transfer-Encoding, Connection, ...) are keyrev's: a
 * caller's are dropped.
 */
export interface OutboundRequest {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export type OutboundResult =
  | { ok: true; status: number; bodyStart: string /* first ~1 KB of the answer */; latencyMs: number }
  | {
      ok: false;
      error: string /* one line */;
      /** The SSRF guard refused the destination. */
      refused: boolean;
      /** Trying again cannot help: the destination is refused, or the request could not be built (a bad URL or scheme, a header Node refuses). */
      permanent: boolean;
      latencyMs: number;
    };

export interface OutboundClient {
  /** One-line reason when the URL's destination is refused (literal IP, or a host name resolving to a refused address), else undefined. */
  check(url: string): Promise<string | undefined>;
  send(req: OutboundRequest): Promise<OutboundResult>;
  /** Closes the kept-alive connections (on shutdown). */
  close(): void;
}

/** How much of an answer is read and kept: enough to see a receiver's error message. */
export const answerCap = 1024;
/** A name that does not resolve within this is not refused by check(); send() checks again. */
const checkLookupMs = 2_000;

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];
const ipv4Compatible = ipaddr.parseCIDR('::/96') as [ipaddr.IPv6, number];

function parseAllowRange(entry: string): Range | undefined {
  try {
    if (entry.includes('/')) return ipaddr.parseCIDR(entry);
    const addr = ipaddr.parse(entry);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

/** Reads KEYREV_OUTBOUND_ALLOW's entries: CIDRs or addresses, else host names (lower case). */
function parseAllow(allow: readonly string[]) {
  const ranges: Range[] = [];
  const hosts = new Set<string>();
  for (const raw of allow) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const range = parseAllowRange(entry.replace(/^\[(.*)\]$/, '$1'));
    if (range) ranges.push(range);
    else hosts.add(entry);
  }
  return { ranges, hosts };
}

/** Whether an address is public unicast, or allowlisted; the reason otherwise. */
function addressRefusal(address: string, ranges: readonly Range[]): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  // process() unwraps IPv4-mapped IPv6 (::ffff:127.0.0.1 is 127.0.0.1 to the kernel).
  const addr = ipaddr.process(address);
  if (ranges.some(([range, bits]) => range.kind() === addr.kind() && addr.match(range, bits))) return undefined;
  const range = addr.range();
  if (range !== 'unicast') return `${addr.toString()} is a ${range} address (not allowed unless KEYREV_OUTBOUND_ALLOW names it)`;
  // IPv4-compatible IPv6 (::/96, deprecated): ipaddr.js calls ::7f00:1 unicast, yet it embeds 127.0.0.1.
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).match(ipv4Compatible)) return `${addr.toString()} is an IPv4-compatible IPv6 address (not allowed unless KEYREV_OUTBOUND_ALLOW names it)`;
  return undefined;
}

/** A lookup error that carries the guard's refusal, so send() can tell it from a DNS failure. */
class RefusedAddress extends Error {
  readonly code = 'EKEYREV_REFUSED';
}

function oneLine(text: string): string {
  return text.split('\n', 1)[0]!.trim().slice(0, 300);
}

export function createOutboundClient(opts: { allow: readonly string[] }): OutboundClient {
  const { ranges, hosts } = parseAllow(opts.allow);

  /** The URL's host without IPv6 brackets, or the reason it cannot be sent to at all. */
  function target(url: string): { url: URL; host: string } | { error: string } {
    if (!URL.canParse(url)) return { error: 'not a URL' };
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: `scheme ${u.protocol} is not http or https` };
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    if (host === '') return { error: 'the URL has no host' };
    return { url: u, host };
  }

  /**
   * The lookup every connection makes: each address the name resolves to must pass, or the
   * connection fails with RefusedAddress. Node calls it with `all: true` (Happy Eyeballs) or not.
   */
  const guardedLookup: net.LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      if (!hosts.has(hostname.toLowerCase())) {
        for (const a of list) {
          const reason = addressRefusal(a.address, ranges);
          if (reason) return callback(new RefusedAddress(`${hostname} resolves to ${reason}`), '', 0);
        }
      }
      if (options.all) return (callback as unknown as (e: null, all: dns.LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };

  // Kept-alive connections to receivers: a socket is reused only after its address passed the lookup.
  const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }) };

  async function check(url: string): Promise<string | undefined> {
    const t = target(url);
    if ('error' in t) return t.error;
    if (hosts.has(t.host)) return undefined;
    if (net.isIP(t.host)) return addressRefusal(t.host, ranges);
    const addresses = await new Promise<dns.LookupAddress[] | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), checkLookupMs);
      dns.lookup(t.host, { all: true }, (err, all) => {
        clearTimeout(timer);
        resolve(err ? undefined : all);
      });
    });
    // A name that does not resolve now is not refused for it: it is checked again when sent.
    for (const a of addresses ?? []) {
      const reason = addressRefusal(a.address, ranges);
      if (reason) return `${t.host} resolves to ${reason}`;
    }
    return undefined;
  }

  function send(req: OutboundRequest): Promise<OutboundResult> {
    const started = performance.now();
    const latency = () => Math.round(performance.now() - started);
    const failed = (error: string, how: { refused?: boolean; permanent?: boolean } = {}): OutboundResult => ({
      ok: false,
      error: oneLine(error),
      refused: how.refused ?? false,
      permanent: (how.permanent ?? false) || (how.refused ?? false),
      latencyMs: latency(),
    });
    const t = target(req.url);
    if ('error' in t) return Promise.resolve(failed(t.error, { permanent: true }));
    // A literal address never reaches the lookup: it is checked here.
    if (net.isIP(t.host) && !hosts.has(t.host)) {
      const reason = addressRefusal(t.host, ranges);
      if (reason) return Promise.resolve(failed(reason, { refused: true }));
    }
    const protocol = t.url.protocol as 'http:' | 'https:';
    return new Promise<OutboundResult>((resolve) => {
      let settled = false;
      let request: http.ClientRequest | undefined;
      const finish = (result: OutboundResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const timer = setTimeout(() => {
        finish(failed(`timed out after ${req.timeoutMs} ms`));
        request?.destroy();
      }, req.timeoutMs);
      const body = req.body === undefined ? undefined : Buffer.from(req.body);
      const headers: Record<string, string> = { 'user-agent': 'keyrev' };
      for (const [name, value] of Object.entries(req.headers ?? {})) if (!transportHeaderNames.has(name.toLowerCase())) headers[name] = value;
      if (body) headers['content-length'] = String(body.length);
      try {
        request = (protocol === 'https:' ? https : http).request(t.url, {
          method: req.method,
          agent: agents[protocol],
          lookup: guardedLookup,
          headers,
        });
      } catch (err) {
        // An invalid header name or value (Node refuses line breaks, and characters beyond Latin-1): the same request fails every time.
        return finish(failed((err as Error).message, { permanent: true }));
      }
      request.on('error', (err: NodeJS.ErrnoException) => finish(failed(err.message, { refused: err instanceof RefusedAddress })));
      request.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          finish({ ok: true, status: res.statusCode ?? 0, bodyStart: Buffer.concat(chunks).subarray(0, answerCap).toString('utf8'), latencyMs: latency() });
          if (!res.complete) res.destroy();
        };
        res.on('data', (chunk: Buffer) => {
          if (size >= answerCap) return;
          chunks.push(chunk);
          size += chunk.length;
          // Only the start of an answer is kept: a huge or endless one is cut off here.
          if (size >= answerCap) done();
        });
        res.on('end', done);
        res.on('error', done);
      });
      request.end(body);
    });
  }

  return {
    check,
    send,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
