/**
 * Remembers which (campaign, IP, user agent) triples clicked within the window, to flag the
 * first click of each as unique. Memory is bounded: past maxEntries the oldest are forgotten,
 * so a repeat after an eviction counts as unique again (an undercount of repeats, never a
 * lost click). Kept in memory only: after a restart the first click of each visitor is unique.
 */
export class UniqueClicks {
  private readonly seen = new Map<number, number>();

  constructor(private readonly opts: { windowMs: number; maxEntries: number }) {}

  isUnique(campaignId: string, ip: string, userAgent: string, nowMs: number): boolean {
    const key = hash53(`${campaignId}\u0000${ip}\u0000${userAgent}`);
    const last = this.seen.get(key);
    const unique = last === undefined || nowMs - last >= this.opts.windowMs;
    if (unique) {
      // Re-inserted so that the map's order stays the order of last unique clicks: the first key is the oldest.
      this.seen.delete(key);
      this.seen.set(key, nowMs);
      if (this.seen.size > this.opts.maxEntries) this.seen.delete(this.seen.keys().next().value!);
    }
    return unique;
  }
}

/** A fast 53-bit string hash (cyrb53): collisions are negligible at millions of entries. */
function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
