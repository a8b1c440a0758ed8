import net from 'node:net';
import ipaddr from 'ipaddr.js';

/** A visitor's address, parsed once per click (the hot path: a few hundred nanoseconds for IPv4). */
export interface VisitorIp {
  /** Canonical text: IPv4 dotted, IPv4-mapped IPv6 unwrapped; '' when not an address. */
  text: string;
  version: 4 | 6 | 0;
  /** Routable on the internet: not private, loopback, link-local, documentation, multicast... */
  isPublic: boolean;
}

const none: VisitorIp = { text: '', version: 0, isPublic: false };

/** IPv4 ranges that are not public unicast (RFC 6890 and friends), as [network, prefix length]. */
const specialV4: [number, number][] = (
  [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.88.99.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 3],
  ] as const
).map(([net4, bits]) => [v4ToInt(net4), bits]);

export function parseVisitorIp(raw: string): VisitorIp {
  const text = raw.startsWith('::ffff:') && net.isIPv4(raw.slice(7)) ? raw.slice(7) : raw;
  const version = net.isIP(text);
  if (version === 4) {
    const n = v4ToInt(text);
    return { text, version, isPublic: !specialV4.some(([network, bits]) => n >>> (32 - bits) === network >>> (32 - bits)) };
  }
  if (version === 6) return { text, version, isPublic: ipaddr.parse(text).range() === 'unicast' };
  return none;
}

/**
 * The address as stored: '::' when unknown. Truncated keeps the network only (/24 for IPv4,
 * /48 for IPv6), for operators who must not keep full addresses.
 */
export function storedIp(ip: VisitorIp, mode: 'full' | 'truncated'): string {
  if (ip.version === 0) return '::';
  if (mode === 'full') return ip.text;
  if (ip.version === 4) return `${ip.text.slice(0, ip.text.lastIndexOf('.'))}.0`;
  const bytes = ipaddr.parse(ip.text).toByteArray().map((b, i) => (i < 6 ? b : 0));
  return ipaddr.fromByteArray(bytes).toString();
}

function v4ToInt(text: string): number {
  let n = 0;
  for (const part of text.split('.')) n = n * 256 + Number(part);
  return n;
}
