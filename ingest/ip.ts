import ipaddr from 'ipaddr.js';

/**
 * The visitor's address as stored: IPv4 as dotted text (ClickHouse maps it into the IPv6
 * column), IPv4-mapped IPv6 unwrapped, '::' when unknown. Truncated keeps the network only
 * (/24 for IPv4, /48 for IPv6), for operators who must not keep full addresses.
 */
export function storedIp(raw: string, mode: 'full' | 'truncated'): string {
  if (!ipaddr.isValid(raw)) return '::';
  let addr = ipaddr.parse(raw);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  if (mode === 'full') return addr.toString();
  const bytes = addr.toByteArray();
  const keep = addr.kind() === 'ipv4' ? 3 : 6;
  const masked = bytes.map((b, i) => (i < keep ? b : 0));
  return ipaddr.fromByteArray(masked).toString();
}
