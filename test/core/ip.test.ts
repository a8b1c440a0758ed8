import { describe, expect, it } from 'vitest';
import { parseVisitorIp, storedIp } from '../../core/ip.js';

describe('visitor addresses', () => {
  it.each([
    ['8.8.8.8', '8.8.8.8', 4, true],
    ['::ffff:8.8.8.8', '8.8.8.8', 4, true],
    ['10.1.2.3', '10.1.2.3', 4, false],
    ['172.31.255.255', '172.31.255.255', 4, false],
    ['172.32.0.1', '172.32.0.1', 4, true],
    ['192.168.0.1', '192.168.0.1', 4, false],
    ['100.64.0.1', '100.64.0.1', 4, false],
    ['127.0.0.1', '127.0.0.1', 4, false],
    ['203.0.113.9', '203.0.113.9', 4, false],
    ['224.0.0.1', '224.0.0.1', 4, false],
    ['2a00:1450:4001:80b::200e', '2a00:1450:4001:80b::200e', 6, true],
    ['::1', '::1', 6, false],
    ['fe80::1', 'fe80::1', 6, false],
    ['fd00::1', 'fd00::1', 6, false],
    ['nonsense', '', 0, false],
    ['', '', 0, false],
  ])('%s', (raw, text, version, isPublic) => {
    expect(parseVisitorIp(raw)).toEqual({ text, version, isPublic });
  });

  it('stores full or truncated addresses', () => {
    expect(storedIp(parseVisitorIp('81.2.69.142'), 'full')).toBe('81.2.69.142');
    expect(storedIp(parseVisitorIp('81.2.69.142'), 'truncated')).toBe('81.2.69.0');
    expect(storedIp(parseVisitorIp('2a00:1450:4001:80b::200e'), 'truncated')).toBe('2a00:1450:4001::');
    expect(storedIp(parseVisitorIp('bad'), 'full')).toBe('::');
  });
});
