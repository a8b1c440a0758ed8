import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';

/**
 * Attack: a visitor on a private network (an office LAN, a cloud VPC, a container next to keyrev)
 * sends `X-Forwarded-For: <any address>` and is recorded with the address it chose: a fake
 * country, a fresh "unique" click each time, and a way into a network's IP allowlist. The default
 * KEYREV_TRUST_PROXY believed the header from every private range; now only from loopback (a
 * proxy on the same machine), and operators name their own proxies to widen it.
 */
describe('X-Forwarded-For from a private address that is not a configured proxy', () => {
  let t: TestApp;
  let campaign: string;
  beforeAll(async () => {
    t = await startApp({ KEYREV_FLUSH_INTERVAL_MS: '20' });
    const res = await t.app.inject({ method: 'POST', url: '/api/campaigns', headers: adminAuth, payload: { name: 'Proxy', offerUrl: 'https://offer.example/?c={clickid}' } });
    expect(res.statusCode, res.body).toBe(201);
    campaign = res.json().id;
  });
  afterAll(async () => t.close());

  /** The address keyrev stored for a click sent from `remoteAddress` with the given X-Forwarded-For. */
  const storedIp = async (remoteAddress: string, forwardedFor: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/c/${campaign}?kw=proxy`, remoteAddress, headers: { 'x-forwarded-for': forwardedFor } });
    expect(res.statusCode, res.body).toBe(302);
    await t.app.keyrev.clicks.flusher.drain();
    const [row] = await t.app.keyrev.warehouse.query<{ ip: string }>('SELECT IPv6NumToString(ip) AS ip FROM clicks WHERE click_id = {id:UInt64}', {
      id: res.headers['x-keyrev-click-id'] as string,
    });
    return row?.ip;
  };

  it('trusts only loopback by default', () => {
    expect(loadConfig({}).trustProxy).toBe('loopback');
  });

  it.each(['10.0.0.5', '192.168.1.20', '172.16.0.9', 'fd00::5', 'fe80::1'])('records a click from %s with the socket address, not the header', async (from) => {
    const ip = await storedIp(from, '203.0.113.7');
    expect(ip).not.toMatch(/203\.0\.113\.7/);
    expect(ip).toBe(from.includes(':') ? from : `::ffff:${from}`);
  });

  it('still believes a proxy on the same machine', async () => {
    expect(await storedIp('127.0.0.1', '203.0.113.7')).toBe('::ffff:203.0.113.7');
  });
});
