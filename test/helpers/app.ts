import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/app.js';
import { loadConfig, type Config } from '../../core/config.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { tempDir } from './temp.js';

export const adminKey = 'test-admin-key-0123456789';
export const adminAuth = { authorization: `Bearer ${adminKey}` };

export { tempDir };

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts the whole app on a fresh temporary data directory with the embedded warehouse (or the
 * server named by CLICKHOUSE_URL). chdb holds one data directory per process, so a test file
 * keeps one app open at a time.
 *
 * Postbacks need no secret here (KEYREV_POSTBACK_SECRET=off) unless the test passes the variable:
 * most tests are about what a postback does, not who may send it. An empty string means unset, so
 * `{ KEYREV_POSTBACK_SECRET: '' }` asks for the product's default, a secret generated into the data
 * directory (test/security/postback-secret.test.ts).
 */
export async function startApp(env: Record<string, string> = {}, opts: { warehouse?: Warehouse } = {}): Promise<TestApp> {
  const dataDir = env.KEYREV_DATA_DIR ?? tempDir();
  const config = loadConfig({ KEYREV_DATA_DIR: dataDir, KEYREV_ADMIN_KEY: adminKey, KEYREV_LOG_LEVEL: 'warn', KEYREV_POSTBACK_SECRET: 'off', ...env });
  const app = await buildApp({ config, adminKey, logger: false, ...opts });
  await app.ready();
  return {
    app,
    config,
    dataDir,
    close: async () => {
      await app.close();
      await opts.warehouse?.close();
    },
  };
}
