import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** "203.0.113.7" or "203.0.113.0/24" or an IPv6 form of either. */
export function isCidr(text: string): boolean {
  return parseRange(text) !== undefined;
}

function parseRange(text: string): Range | undefined {
  try {
    return text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), ipaddr.parse(text).kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

/** Checks a caller's address against a network's allowlist; an empty list allows everyone. */
export function ipAllowlist(entries: readonly string[]): (ip: string) => boolean {
  const ranges = entries.map(parseRange).filter((r): r is Range => r !== undefined);
  if (ranges.length === 0) return () => true;
  return (ip) => {
    if (!ipaddr.isValid(ip)) return false;
    // ::ffff:203.0.113.7 is the IPv4 caller 203.0.113.7 on a dual-stack socket.
    const addr = ipaddr.process(ip);
    return ranges.some(([range, bits]) => addr.kind() === range.kind() && addr.match(range, bits));
  };
}
