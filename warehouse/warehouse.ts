/**
 * The warehouse port: the only way keyrev talks to ClickHouse. Two adapters implement it with the
 * same SQL: the embedded engine (chdb) and a ClickHouse server (@clickhouse/client).
 * Values always travel as query parameters ({name:Type} placeholders), never inside the SQL text.
 */
export type ParamValue = string | number | bigint | boolean | null | Date | readonly (string | number | bigint)[];
export type QueryParams = Readonly<Record<string, ParamValue>>;

/** Formats a result can be streamed in, as ClickHouse itself writes them. */
export const streamFormats = ['CSVWithNames', 'TabSeparatedWithNames', 'JSONEachRow', 'Parquet', 'Arrow', 'ArrowStream'] as const;
export type StreamFormat = (typeof streamFormats)[number];

/** Raw insert formats both adapters accept. */
export const insertFormats = ['JSONEachRow', 'JSONCompactEachRow', 'CSV', 'TabSeparated'] as const;
export type InsertFormat = (typeof insertFormats)[number];

export interface InsertOptions {
  /** A batch inserted twice with the same token is stored once (tables set a dedup window). */
  dedupToken?: string;
  /** The columns a positional format's values fill, in order (the others take their defaults). */
  columns?: readonly string[];
}

export interface Warehouse {
  readonly kind: 'embedded' | 'server';
  readonly database: string;
  /** Runs a SELECT and returns its rows (64-bit integers come back as strings). */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  /** Runs a statement that returns nothing (DDL, INSERT ... SELECT). */
  exec(sql: string, params?: QueryParams): Promise<void>;
  /** Streams a SELECT's result in a ClickHouse output format, chunk by chunk, in constant memory. */
  stream(sql: string, params: QueryParams, format: StreamFormat, signal?: AbortSignal): AsyncIterable<Uint8Array>;
  /** Inserts rows given as objects (JSONEachRow). */
  insert(table: string, rows: readonly object[], options?: InsertOptions): Promise<void>;
  /** Inserts a payload already encoded in a format. */
  insertRaw(table: string, data: Uint8Array, format: InsertFormat, options?: InsertOptions): Promise<void>;
  /** Resolves when the warehouse answers, throws WarehouseError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A failure of the warehouse itself (unreachable) or of a statement (code is ClickHouse's). */
export class WarehouseError extends Error {
  override name = 'WarehouseError';
  constructor(
    message: string,
    readonly unavailable: boolean,
    readonly clickhouseCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Table and column names come from code, never from users; this guards against a slip. */
export function assertIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return name;
}

export function encodeJsonEachRow(rows: readonly object[]): Buffer {
  return Buffer.from(rows.map((r) => JSON.stringify(r, bigintReplacer)).join('\n') + '\n');
}

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Settings both adapters apply to every query so that results look the same. */
export const sharedSettings = {
  output_format_json_quote_64bit_integers: 1,
  date_time_input_format: 'best_effort',
} as const;

/** Dates travel as UTC 'YYYY-MM-DD hh:mm:ss.sss' text, which both engines parse for DateTime64 params. */
export function normalizeParams(params: QueryParams): Record<string, Exclude<ParamValue, Date>> {
  const out: Record<string, Exclude<ParamValue, Date>> = {};
  for (const [k, v] of Object.entries(params)) {
    out[k] = v instanceof Date ? v.toISOString().replace('T', ' ').replace('Z', '') : v;
  }
  return out;
}

export function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.trim();
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The warehouse every module queries through (opened, migrated and closed by the app). */
    warehouse: Warehouse;
  }
}
