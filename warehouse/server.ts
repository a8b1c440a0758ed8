import { Readable } from 'node:stream';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import {
  WarehouseError,
  assertIdentifier,
  firstLine,
  normalizeParams,
  sharedSettings,
  type InsertFormat,
  type InsertOptions,
  type QueryParams,
  type StreamFormat,
  type Warehouse,
} from './warehouse.js';

export interface ServerTarget {
  url: string;
  username: string;
  password: string;
  database: string;
}

/** Splits CLICKHOUSE_URL (http://user:pass@host:8123/db) into what the client takes. */
export function parseClickHouseUrl(raw: string): ServerTarget {
  const u = new URL(raw);
  const database = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, '')) || 'keyrev';
  return {
    url: `${u.protocol}//${u.host}`,
    username: decodeURIComponent(u.username) || 'default',
    password: decodeURIComponent(u.password),
    database: assertIdentifier(database),
  };
}

/** A ClickHouse server (or cluster front) over HTTP, through the official client. */
export class ServerWarehouse implements Warehouse {
  readonly kind = 'server' as const;
  readonly database: string;

  private constructor(
    private readonly client: ClickHouseClient,
    database: string,
  ) {
    this.database = database;
  }

  static async open(rawUrl: string, requestTimeoutMs = 30_000): Promise<ServerWarehouse> {
    const target = parseClickHouseUrl(rawUrl);
    const common = {
      url: target.url,
      username: target.username,
      password: target.password,
      request_timeout: requestTimeoutMs,
      clickhouse_settings: sharedSettings,
      application: 'keyrev',
      // Failures reach the caller as WarehouseError and are logged there, once, in keyrev's log.
      log: { level: ClickHouseLogLevel.OFF },
    };
    // The database may not exist yet, so it is created through a connection to `default`.
    const bootstrap = createClient({ ...common, database: 'default' });
    try {
      await run(() => bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${target.database}` }));
    } finally {
      await bootstrap.close();
    }
    return new ServerWarehouse(createClient({ ...common, database: target.database }), target.database);
  }

  async query<T>(sql: string, params: QueryParams = {}): Promise<T[]> {
    return run(async () => {
      const rs = await this.client.query({ query: sql, query_params: normalizeParams(params), format: 'JSONEachRow' });
      return rs.json<T>();
    });
  }

  async exec(sql: string, params: QueryParams = {}): Promise<void> {
    await run(() => this.client.command({ query: sql, query_params: normalizeParams(params) }));
  }

  async *stream(sql: string, params: QueryParams, format: StreamFormat, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const result = await run(() =>
      this.client.exec({
        query: `${sql}\nFORMAT ${format}`,
        query_params: normalizeParams(params),
        ...(signal ? { abort_signal: signal } : {}),
      }),
    );
    try {
      for await (const chunk of result.stream) yield chunk as Uint8Array;
    } catch (err) {
      throw toWarehouseError(err);
    } finally {
      result.stream.destroy();
    }
  }

  async insert(table: string, rows: readonly object[], options: InsertOptions = {}): Promise<void> {
    if (rows.length === 0) return;
    await run(() =>
      this.client.insert({
        table: assertIdentifier(table),
        values: rows as object[],
        format: 'JSONEachRow',
        clickhouse_settings: dedupSettings(options),
      }),
    );
  }

  async insertRaw(table: string, data: Uint8Array, format: InsertFormat, options: InsertOptions = {}): Promise<void> {
    // client.insert() wants objects for JSON formats; exec() sends the bytes as they are.
    const result = await run(() =>
      this.client.exec({
        query: `INSERT INTO ${assertIdentifier(table)}${columnList(options.columns)} FORMAT ${format}`,
        values: Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)], { objectMode: false }),
        clickhouse_settings: dedupSettings(options),
      }),
    );
    await run(async () => {
      for await (const _chunk of result.stream) {
        // an INSERT answers with an empty body; reading it releases the socket
      }
    });
  }

  async ping(): Promise<void> {
    const result = await this.client.ping();
    if (!result.success) throw toWarehouseError(result.error);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function dedupSettings(options: InsertOptions): Record<string, string> {
  return options.dedupToken ? { insert_deduplication_token: options.dedupToken } : {};
}

function columnList(columns: readonly string[] | undefined): string {
  return columns ? ` (${columns.map(assertIdentifier).join(', ')})` : '';
}

async function run<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toWarehouseError(err);
  }
}

function toWarehouseError(err: unknown): WarehouseError {
  if (err instanceof WarehouseError) return err;
  if (err instanceof ClickHouseError) {
    return new WarehouseError(firstLine(err.message), false, Number(err.code), { cause: err });
  }
  // Anything that is not an answer from ClickHouse counts as unavailable, so the spool retries
  // rather than setting data aside; the message says whether the network was the cause.
  const e = err as { message?: string; code?: string };
  const message = firstLine(e.message ?? String(err));
  const network = /^E[A-Z]+$/.test(e.code ?? '') || /timeout|socket hang up/i.test(message);
  const detail = e.code && !message.includes(e.code) ? `${e.code} ${message}` : message;
  return new WarehouseError(`ClickHouse ${network ? 'server unreachable' : 'request failed'}: ${detail}`, true, undefined, { cause: err });
}
