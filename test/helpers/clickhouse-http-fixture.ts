import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { Session } from 'chdb';
import { tempDir } from './temp.js';

/**
 * A small stand-in for a ClickHouse server: it speaks the part of ClickHouse's HTTP interface
 * that @clickhouse/client uses (query in the URL or body, param_* values, database, FORMAT,
 * INSERT with the data in the body, settings, /ping, errors with X-ClickHouse-Exception-Code)
 * and runs every statement on an embedded engine. It lets the server adapter's real request
 * shaping run where no ClickHouse server (or container runtime) exists. A test tool: one
 * statement at a time, whole results buffered.
 */
export interface ClickHouseFixture {
  url: string;
  /** Requests seen, for tests that check what the client sent. */
  requests: { path: string; params: URLSearchParams; body: string }[];
  /** While down, every request's connection is reset, as a server that died would: for fault tests. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** URL parameters the client sends that are not query settings. */
const notSettings = new Set(['query', 'database', 'query_id', 'default_format', 'session_id', 'user', 'password', 'role', 'enable_http_compression', 'wait_end_of_query']);

export async function startClickHouseFixture(): Promise<ClickHouseFixture> {
  const session = new Session(tempDir('keyrev-chfixture-'), { connectionArgs: ['--output_format_json_quote_64bit_integers=1'] });
  let currentDb = 'default';
  let queue: Promise<unknown> = Promise.resolve();
  const requests: ClickHouseFixture['requests'] = [];
  let down = false;

  const server = http.createServer((req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      const url = new URL(req.url ?? '/', 'http://fixture');
      requests.push({ path: url.pathname, params: url.searchParams, body: body.toString() });
      if (url.pathname === '/ping') {
        res.end('Ok.\n');
        return;
      }
      // The engine runs one statement at a time, as its single connection requires.
      queue = queue.then(() => handle(url.searchParams, body, res)).catch(() => undefined);
    });
  });

  async function handle(params: URLSearchParams, body: Buffer, res: http.ServerResponse): Promise<void> {
    const queryId = params.get('query_id') ?? randomUUID();
    res.setHeader('X-ClickHouse-Query-Id', queryId);
    try {
      const db = params.get('database') ?? 'default';
      if (db !== currentDb) {
        await session.queryAsync(`USE ${db}`);
        currentDb = db;
      }
      const urlQuery = params.get('query');
      const settings = Object.fromEntries([...params].filter(([k]) => !notSettings.has(k) && !k.startsWith('param_')));
      const insert = urlQuery && /^\s*INSERT\s+INTO\s+(\S+)\s*(?:\(([^)]*)\))?\s*FORMAT\s+(\w+)\s*$/i.exec(urlQuery);
      if (insert) {
        const [, table, columns, format] = insert;
        const summary = await session.insert({
          table: table!,
          values: body,
          format: format as 'JSONEachRow',
          ...(columns ? { columns: columns.split(',').map((c) => c.trim()) } : {}),
          settings: pick(settings, ['insert_deduplication_token', 'input_format_skip_unknown_fields', 'date_time_input_format']),
        });
        res.setHeader('X-ClickHouse-Summary', JSON.stringify({ written_rows: String(summary.rowsWritten), written_bytes: String(summary.bytesWritten) }));
        res.end();
        return;
      }
      const sql = [urlQuery, body.toString()].filter(Boolean).join('\n');
      const formatMatch = /\bFORMAT\s+(\w+)\s*$/i.exec(sql);
      const format = formatMatch?.[1] ?? params.get('default_format') ?? 'TabSeparated';
      const statement = formatMatch ? sql.slice(0, formatMatch.index) : sql;
      const { sql: bound, values } = bindValues(statement, params);
      const result = await session.queryBindAsync(bound, values, { format });
      res.setHeader('X-ClickHouse-Format', format);
      res.setHeader('X-ClickHouse-Summary', JSON.stringify({ read_rows: String(result.rowsRead), read_bytes: String(result.bytesRead) }));
      // Written in pieces, as a server streams a large result.
      const bytes = Buffer.from(result.bytes());
      for (let i = 0; i < bytes.length; i += 64 * 1024) res.write(bytes.subarray(i, i + 64 * 1024));
      res.end();
    } catch (err) {
      const message = (err as Error).message;
      const code = /Code: (\d+)/.exec(message)?.[1] ?? '1001';
      res.statusCode = code === '60' || code === '81' ? 404 : 500;
      res.setHeader('X-ClickHouse-Exception-Code', code);
      res.end(message.startsWith('Code:') ? `${message}\n` : `Code: ${code}. DB::Exception: ${message}\n`);
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setDown: (value) => {
      down = value;
      if (down) server.closeAllConnections();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await queue;
      session.close();
    },
  };
}

function pick(settings: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).filter(([k]) => names.includes(k)));
}

/**
 * param_* values arrive in ClickHouse's escaped text form. The engine's binder escapes what it is
 * given, so String values are unescaped and bound raw, and a value of any other type is bound as
 * its text and parsed by a CAST, as the server itself parses parameter text. `\N` is NULL.
 */
function bindValues(sql: string, params: URLSearchParams): { sql: string; values: Record<string, string | null> } {
  const values: Record<string, string | null> = {};
  const rewritten = sql.replace(/\{(\w+):([^}]+)\}/g, (placeholder, name: string, rawType: string) => {
    const type = rawType.trim();
    const raw = params.get(`param_${name}`);
    if (raw === null) return placeholder;
    if (raw === '\\N' && type.startsWith('Nullable')) {
      values[name] = null;
      return placeholder;
    }
    if (/^(?:Nullable\(|LowCardinality\()*String\)*$/.test(type)) {
      values[name] = unescapeText(raw);
      return placeholder;
    }
    values[name] = raw;
    return `CAST({${name}:String}, '${type.replace(/'/g, "\\'")}')`;
  });
  return { sql: rewritten, values };
}

function unescapeText(text: string): string {
  const map: Record<string, string> = { t: '\t', n: '\n', r: '\r', '0': '\0', b: '\b', f: '\f' };
  return text.replace(/\\(.)/g, (_, c: string) => map[c] ?? c);
}
