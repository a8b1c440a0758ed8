import { WarehouseError, type InsertFormat, type InsertOptions, type QueryParams, type StreamFormat, type Warehouse } from '../../warehouse/warehouse.js';

/**
 * A real warehouse with a switch that makes it unreachable: every call fails as a network
 * failure would, while `down` is true. For failure-injection tests, not a mock: the data goes
 * to the real engine underneath.
 */
export class FlakyWarehouse implements Warehouse {
  down = false;
  failedCalls = 0;
  /** The SQL of every query asked, to count the lookups a test caused. */
  readonly queries: string[] = [];
  readonly kind;
  readonly database;

  constructor(private readonly inner: Warehouse) {
    this.kind = inner.kind;
    this.database = inner.database;
  }

  private check(): void {
    if (this.down) {
      this.failedCalls++;
      throw new WarehouseError('injected failure: ClickHouse unreachable', true);
    }
  }

  async query<T>(sql: string, params?: QueryParams): Promise<T[]> {
    this.check();
    this.queries.push(sql);
    return this.inner.query<T>(sql, params);
  }
  async exec(sql: string, params?: QueryParams): Promise<void> {
    this.check();
    return this.inner.exec(sql, params);
  }
  stream(sql: string, params: QueryParams, format: StreamFormat, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    this.check();
    return this.inner.stream(sql, params, format, signal);
  }
  async insert(table: string, rows: readonly object[], options?: InsertOptions): Promise<void> {
    this.check();
    return this.inner.insert(table, rows, options);
  }
  async insertRaw(table: string, data: Uint8Array, format: InsertFormat, options?: InsertOptions): Promise<void> {
    this.check();
    return this.inner.insertRaw(table, data, format, options);
  }
  async ping(): Promise<void> {
    this.check();
    return this.inner.ping();
  }
  async close(): Promise<void> {
    return this.inner.close();
  }
}
