import { StartupError } from '../core/errors.js';
import { EmbeddedWarehouse } from './embedded.js';
import { ServerWarehouse } from './server.js';
import { WarehouseError, type Warehouse } from './warehouse.js';

/** CLICKHOUSE_URL set: a ClickHouse server; otherwise the embedded engine in the data directory. */
export async function openWarehouse(opts: { clickhouseUrl: string | undefined; dataDir: string }): Promise<Warehouse> {
  try {
    return opts.clickhouseUrl
      ? await ServerWarehouse.open(opts.clickhouseUrl)
      : await EmbeddedWarehouse.open(opts.dataDir);
  } catch (err) {
    if (err instanceof WarehouseError) {
      const where = opts.clickhouseUrl ? `ClickHouse at ${redact(opts.clickhouseUrl)}` : `embedded ClickHouse in ${opts.dataDir}`;
      throw new StartupError(`cannot open ${where}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** The password never goes to logs. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
