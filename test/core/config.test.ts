import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { StartupError } from '../../core/errors.js';

describe('configuration from the environment', () => {
  it('has defaults that need nothing set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', clickhouseUrl: undefined, nodeId: 0, dataDir: path.resolve('./data') });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      KEYREV_DATA_DIR: '/tmp/x',
      CLICKHOUSE_URL: 'http://default:pw@ch:8123/keyrev',
      KEYREV_ADMIN_KEY: 'a-long-enough-admin-key',
      KEYREV_NODE_ID: '1023',
    });
    expect(c).toMatchObject({ port: 9000, host: '127.0.0.1', dataDir: '/tmp/x', clickhouseUrl: 'http://default:pw@ch:8123/keyrev', nodeId: 1023 });
  });

  it('reads KEYREV_POSTBACK_SECRET: a secret, off, or unset (one is generated)', () => {
    expect(loadConfig({ KEYREV_POSTBACK_SECRET: 'network-secret' }).postbackSecret).toBe('network-secret');
    expect(loadConfig({ KEYREV_POSTBACK_SECRET: 'off' }).postbackSecret).toBe(false);
    expect(loadConfig({}).postbackSecret).toBeUndefined();
    expect(loadConfig({ KEYREV_POSTBACK_SECRET: '' }).postbackSecret).toBeUndefined();
  });

  it('believes X-Forwarded-For only from loopback unless told otherwise', () => {
    expect(loadConfig({}).trustProxy).toBe('loopback');
    expect(loadConfig({ KEYREV_TRUST_PROXY: '10.0.0.0/8' }).trustProxy).toBe('10.0.0.0/8');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ CLICKHOUSE_URL: '', PORT: '' })).toMatchObject({ clickhouseUrl: undefined, port: 8080 });
  });

  it.each([
    ['PORT', 'eighty', /invalid PORT/],
    ['PORT', '70000', /invalid PORT/],
    ['CLICKHOUSE_URL', 'clickhouse://host', /invalid CLICKHOUSE_URL: must be an http\(s\) URL/],
    ['CLICKHOUSE_URL', 'not a url', /invalid CLICKHOUSE_URL/],
    ['KEYREV_NODE_ID', '1024', /invalid KEYREV_NODE_ID/],
    ['KEYREV_ADMIN_KEY', 'short', /invalid KEYREV_ADMIN_KEY: must be at least 16 characters/],
    ['KEYREV_GEOIP_MMDB', '/nonexistent/GeoLite2-Country.mmdb', /invalid KEYREV_GEOIP_MMDB: no such file/],
    ['KEYREV_IP_STORAGE', 'some', /invalid KEYREV_IP_STORAGE/],
    ['KEYREV_FALLBACK_URL', 'javascript:alert(1)', /invalid KEYREV_FALLBACK_URL/],
    ['KEYREV_POSTBACK_SECRET', 'short', /invalid KEYREV_POSTBACK_SECRET: must be at least 8 characters, or off/],
  ])('names the bad variable %s=%s', (name, value, message) => {
    const attempt = () => loadConfig({ [name]: value });
    expect(attempt).toThrow(StartupError);
    expect(attempt).toThrow(message);
  });
});
