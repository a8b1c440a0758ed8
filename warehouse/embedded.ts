import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Session } from 'chdb';
import {
  WarehouseError,
  assertIdentifier,
  encodeJsonEachRow,
  firstLine,
  normalizeParams,
  sharedSettings,
  type InsertFormat,
  type InsertOptions,
  type QueryParams,
  type StreamFormat,
  type Warehouse,
} from './warehouse.js';

const settingArgs = Object.entries(sharedSettings).map(([k, v]) => `--${k}=${v}`);

/** ClickHouse inside this process (chdb): one data directory, one session, no server to run. */
export class EmbeddedWarehouse implements Warehouse {
  readonly kind = 'embedded' as const;
  readonly database: string;
  private readonly session: Session;

  private constructor(
    session: Session,
    database: string,
    private readonly tmpDir: string,
  ) {
    this.session = session;
    this.database = database;
  }

  static async open(dataDir: string, database = 'keyrev'): Promise<EmbeddedWarehouse> {
    const dir = path.join(dataDir, 'clickhouse');
    const tmpDir = path.join(dataDir, 'tmp');
    fs.mkdirSync(dir, { recursive: true });
    // Exports left behind by a crash are of no use to anyone.
    fs.rmSync(tmpDir, { recursive: true, force: true });
    fs.mkdirSync(tmpDir, { recursive: true });
    let session: Session;
    try {
      session = new Session(dir, { connectionArgs: settingArgs });
    } catch (err) {
      throw toWarehouseError(err, true);
    }
    const db = assertIdentifier(database);
    const wh = new EmbeddedWarehouse(session, db, tmpDir);
    // Atomic, not chdb's default Overlay engine: refreshable materialized views need it.
    await wh.exec(`CREATE DATABASE IF NOT EXISTS ${db} ENGINE = Atomic`);
    await wh.exec(`USE ${db}`);
    return wh;
  }

  async query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    try {
      const result = await this.session.queryBindAsync(sql, normalizeParams(params), { format: 'JSONEachRow' });
      const text = result.text();
      if (text.length === 0) return [];
      return text
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as T);
    } catch (err) {
      throw toWarehouseError(err);
    }
  }

  async exec(sql: string, params: QueryParams = {}): Promise<void> {
    try {
      await this.session.queryBindAsync(sql, normalizeParams(params));
    } catch (err) {
      throw toWarehouseError(err);
    }
  }

  /**
   * chdb's streaming cursor is cut off by any other query on the same connection (and the spool
   * flusher runs them all the time), so the engine writes the whole result to a temporary file
   * at its own speed and the file is streamed from disk: constant memory, any output format.
   */
  async *stream(sql: string, params: QueryParams, format: StreamFormat, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const file = path.join(this.tmpDir, `export-${randomUUID()}`);
    try {
      await this.session.queryBindAsync(
        `${sql}\nINTO OUTFILE ${sqlString(file)} TRUNCATE FORMAT ${format}`,
        normalizeParams(params),
        signal ? { signal } : {},
      );
      for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) })) {
        yield chunk as Buffer;
      }
    } catch (err) {
      throw toWarehouseError(err);
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  async insert(table: string, rows: readonly object[], options: InsertOptions = {}): Promise<void> {
    if (rows.length === 0) return;
    await this.insertRaw(table, encodeJsonEachRow(rows), 'JSONEachRow', options);
  }

  async insertRaw(table: string, data: Uint8Array, format: InsertFormat, options: InsertOptions = {}): Promise<void> {
    try {
      await this.session.insert({
        table: assertIdentifier(table),
        values: data,
        format,
        ...(options.columns ? { columns: options.columns.map(assertIdentifier) } : {}),
        settings: options.dedupToken ? { insert_deduplication_token: options.dedupToken } : {},
      });
    } catch (err) {
      throw toWarehouseError(err);
    }
  }

  async ping(): Promise<void> {
    if (!this.session.open) throw new WarehouseError('the embedded warehouse is closed', true);
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    this.session.close();
  }
}

function toWarehouseError(err: unknown, unavailable = false): WarehouseError {
  if (err instanceof WarehouseError) return err;
  const e = err as { message?: string; clickhouseCode?: number; code?: string };
  const closed = e.code === 'CHDB_CLOSED';
  return new WarehouseError(firstLine(e.message ?? String(err)), unavailable || closed, e.clickhouseCode, { cause: err });
}

/** A ClickHouse string literal, for the one place a value cannot be a parameter (INTO OUTFILE). */
function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
