import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StartupError } from '../core/errors.js';
import type { Warehouse } from '../warehouse/warehouse.js';

export const schemaDir = path.dirname(fileURLToPath(import.meta.url));

export interface Migration {
  version: number;
  name: string;
  statements: string[];
  checksum: string;
}

const ledgerDdl = `CREATE TABLE IF NOT EXISTS keyrev_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC'),
    statements Array(String)
)
ENGINE = ReplacingMergeTree
ORDER BY version`;

// A ledger written before statements were recorded gets the column (empty for its rows).
const ledgerStatementsDdl = 'ALTER TABLE keyrev_migrations ADD COLUMN IF NOT EXISTS statements Array(String)';

/** Reads NNN_name.sql files in version order; statements end with a semicolon at the end of a line. */
export function loadMigrations(dir: string = schemaDir): Migration[] {
  const migrations = fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      const statements = text
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('--'))
        .join('\n')
        .split(/;\s*(?:\n|$)/)
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      return {
        version: Number(file.slice(0, 3)),
        name: file.replace(/\.sql$/, ''),
        statements,
        checksum: createHash('sha256').update(text).digest('hex').slice(0, 16),
      };
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`schema files must be numbered 001, 002, ... without gaps; found ${m.name}`);
  });
  return migrations;
}

/**
 * What a statement does, as far as re-applying it goes. Views (materialized ones with a TO table,
 * whose data lives in that table) and functions hold no data, so a changed definition can be put
 * in place on a database that has the old one. Everything else (tables, columns, copies, drops)
 * cannot be re-run to the same effect and belongs in a new migration.
 */
export type StatementKind = 'view' | 'function' | 'table' | 'drop' | 'other';

export interface Statement {
  sql: string;
  kind: StatementKind;
  /** The table, view or function it creates, changes or drops ('' when none is recognised). */
  object: string;
  /** `kind object hash`, as the ledger records it: the hash ignores whitespace outside quotes. */
  key: string;
  /** Puts this definition in place on a database that may hold an older one (views and functions only). */
  redefine?: (wh: Warehouse) => Promise<void>;
}

const name = '([A-Za-z_][A-Za-z0-9_]*)';
const materializedView = new RegExp(`^CREATE\\s+MATERIALIZED\\s+VIEW\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${name}\\s+TO\\s+${name}\\s+(?:\\([^]*?\\)\\s*)?AS\\s+([^]+)$`, 'i');
const modifyQuery = new RegExp(`^ALTER\\s+TABLE\\s+${name}\\s+MODIFY\\s+QUERY\\s+([^]+)$`, 'i');
const plainView = new RegExp(`^CREATE\\s+(?:OR\\s+REPLACE\\s+)?VIEW\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${name}\\s+AS\\s+([^]+)$`, 'i');
const sqlFunction = new RegExp(`^CREATE\\s+(?:OR\\s+REPLACE\\s+)?FUNCTION\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${name}\\s+AS\\s+([^]+)$`, 'i');
const created = new RegExp(`^CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:TEMPORARY\\s+)?(?:TABLE|MATERIALIZED\\s+VIEW|VIEW|DICTIONARY|DATABASE|FUNCTION)\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${name}`, 'i');
const dropped = new RegExp(`^DROP\\s+(?:TABLE|VIEW|DICTIONARY|FUNCTION)\\s+(?:IF\\s+EXISTS\\s+)?${name}`, 'i');
const touched = new RegExp(`^(?:ALTER\\s+TABLE|INSERT\\s+INTO|TRUNCATE\\s+TABLE|RENAME\\s+TABLE)\\s+(?:IF\\s+EXISTS\\s+)?${name}`, 'i');

/** Whitespace outside quoted strings and identifiers collapsed: re-indenting a statement is no change. */
function normalize(sql: string): string {
  return sql
    .split(/('(?:[^'\\]|\\.)*'|`[^`]*`|"[^"]*")/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/\s+/g, ' ')))
    .join('')
    .trim();
}

export function classifyStatement(sql: string): Statement {
  const make = (kind: StatementKind, object: string, redefine?: Statement['redefine']): Statement => {
    const hash = createHash('sha256').update(normalize(sql)).digest('hex').slice(0, 16);
    return { sql, kind, object, key: `${kind} ${object || '-'} ${hash}`, ...(redefine ? { redefine } : {}) };
  };
  let m = materializedView.exec(sql);
  if (m) {
    const [view, target, select] = [m[1]!, m[2]!, m[3]!];
    return make('view', view, (wh) => redefineMaterializedView(wh, view, target, select, sql));
  }
  m = modifyQuery.exec(sql);
  if (m) return make('view', m[1]!, (wh) => wh.exec(sql));
  m = plainView.exec(sql);
  if (m) {
    const body = m[2]!;
    const view = m[1]!;
    return make('view', view, (wh) => wh.exec(`CREATE OR REPLACE VIEW ${view} AS ${body}`));
  }
  m = sqlFunction.exec(sql);
  if (m) {
    const body = m[2]!;
    const fn = m[1]!;
    return make('function', fn, (wh) => wh.exec(`CREATE OR REPLACE FUNCTION ${fn} AS ${body}`));
  }
  // A materialized view without a TO table keeps its rows in a table of its own: a table here.
  m = created.exec(sql);
  if (m) return make('table', m[1]!);
  m = dropped.exec(sql);
  if (m) return make('drop', m[1]!);
  m = touched.exec(sql);
  return make('other', m?.[1] ?? '');
}

/**
 * MODIFY QUERY when the view exists with the same TO table: the new query takes over atomically,
 * with no moment in which an insert would pass the view by. A view writing elsewhere (or none yet)
 * is dropped and created; rows inserted between the two statements miss it.
 */
async function redefineMaterializedView(wh: Warehouse, view: string, target: string, select: string, create: string): Promise<void> {
  const [live] = await wh.query<{ q: string }>(
    'SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = {view:String}',
    { view },
  );
  const liveTarget = live ? /\sTO\s+(?:`?[A-Za-z0-9_]+`?\.)?`?([A-Za-z0-9_]+)`?/.exec(live.q)?.[1] : undefined;
  if (live && liveTarget === target) {
    await wh.exec(`ALTER TABLE ${view} MODIFY QUERY ${select}`);
    return;
  }
  if (live) await wh.exec(`DROP VIEW IF EXISTS ${view}`);
  await wh.exec(create);
}

export interface MigrationResult {
  applied: string[];
  /** Applied migrations whose changed views or functions were put in place again. */
  reapplied: string[];
  current: number;
}

interface LedgerRow {
  version: number;
  checksum: string;
  applied_at: string;
  statements: string[];
}

/** A statement as a refusal names it: `table networks`, `view clicks_mv`, `a statement on postbacks`. */
function describe(kind: string, object: string): string {
  if (object === '' || object === '-') return `a ${kind === 'other' ? '' : `${kind} `}statement`;
  return kind === 'other' ? `a statement on ${object}` : kind === 'drop' ? `the drop of ${object}` : `${kind} ${object}`;
}

const redefinable = (kind: string) => kind === 'view' || kind === 'function';

/** Whether SQL calls one of the functions (names are plain identifiers, see `name`). */
const calls = (sql: string, functions: Set<string>) => [...functions].some((f) => new RegExp(`\\b${f}\\s*\\(`, 'i').test(sql));

/**
 * The statements of an applied migration whose file changed that must run again, or a refusal
 * naming the file when a change is not a view or a function. Statements are compared by key:
 * a changed view is a removed and an added key of the same view.
 */
function changesOf(m: Migration, statements: Statement[], row: LedgerRow, next: number): Statement[] {
  const refuse = (what: string, why = '') =>
    new StartupError(
      `schema file ${m.name}.sql changed after it was applied to this database (${what})${why}: restore it and put the change in a new numbered migration (${String(next).padStart(3, '0')}_<name>.sql)`,
    );
  if (row.statements.length === 0) {
    // Applied by a keyrev that did not record statements: an unchanged file records them now; a
    // changed one can be trusted only when every statement in it can be re-applied.
    if (row.checksum === m.checksum) return [];
    const fixed = statements.find((s) => !s.redefine);
    if (fixed) throw refuse(describe(fixed.kind, fixed.object), ', and the database has no record of which statement changed');
    return statements;
  }
  const before = new Set(row.statements);
  const after = new Set(statements.map((s) => s.key));
  const added = statements.filter((s) => !before.has(s.key));
  for (const s of added) if (!s.redefine) throw refuse(describe(s.kind, s.object));
  for (const key of row.statements) {
    if (after.has(key)) continue;
    const [kind = '', object = ''] = key.split(' ');
    const replaced = redefinable(kind) && added.some((s) => s.kind === kind && s.object === object);
    if (!replaced) throw refuse(`${describe(kind, object)} removed`);
  }
  return added;
}

/**
 * Brings the warehouse to the newest schema. Statements use IF NOT EXISTS, so a run cut short
 * (or two processes starting together) is safe to repeat. A ledger ahead of the code means an
 * older keyrev is pointed at a newer database: refuse rather than write rows it does not understand.
 *
 * Applied migrations are checked against their files: IF NOT EXISTS would silently skip a changed
 * view, so a changed view or function is put in place again and its new checksum recorded; any
 * other change is refused (a one-line StartupError naming the file) before anything runs.
 * ClickHouse copies a function's body into the views that call it when they are defined, so after
 * a function statement runs, every view whose definition calls it is defined again.
 */
export async function migrate(wh: Warehouse, migrations: Migration[] = loadMigrations()): Promise<MigrationResult> {
  await wh.exec(ledgerDdl);
  await wh.exec(ledgerStatementsDdl);
  const rows = await wh.query<LedgerRow>('SELECT version, checksum, applied_at, statements FROM keyrev_migrations FINAL ORDER BY version');
  const ledger = new Map(rows.map((r) => [Number(r.version), r]));
  const known = migrations.length;
  const newest = Math.max(0, ...ledger.keys());
  if (newest > known) {
    throw new StartupError(
      `database schema is at version ${newest} but this keyrev knows only up to ${known}: run a newer keyrev against this database`,
    );
  }
  const parsed = migrations.map((m) => m.statements.map(classifyStatement));
  // Every applied file is checked before anything runs, so a refused start changes nothing.
  const changes = migrations.map((m, i) => {
    const row = ledger.get(m.version);
    if (!row || (row.checksum === m.checksum && row.statements.length > 0)) return undefined;
    return changesOf(m, parsed[i]!, row, known + 1);
  });
  // A later migration that defines, replaces or drops the same object decides its final state.
  const definedLater = (i: number, object: string) =>
    parsed.slice(i + 1).some((ss) => ss.some((s) => s.object === object && s.kind !== 'other'));
  // The newest definition of a view among the migrations that have run, up to migration i.
  const viewDefinition = (i: number, view: string): Statement | undefined => {
    for (let j = parsed.length - 1; j >= 0; j--) {
      if (j > i && !ledger.has(migrations[j]!.version)) continue;
      const last = parsed[j]!.findLast((s) => s.object === view && s.kind !== 'other');
      if (last) return last.kind === 'view' ? last : undefined;
    }
    return undefined;
  };
  const views = [...new Set(parsed.flat().filter((s) => s.kind === 'view').map((s) => s.object))];
  const functions = parsed.flat().filter((s) => s.kind === 'function');
  // A function and the functions calling it, directly or not: a view holds all their bodies.
  const callersOf = (fn: string): Set<string> => {
    const found = new Set([fn]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const f of functions) {
        if (!found.has(f.object) && calls(f.sql, found)) {
          found.add(f.object);
          grew = true;
        }
      }
    }
    return found;
  };

  const applied: string[] = [];
  const reapplied: string[] = [];
  for (const [i, m] of migrations.entries()) {
    const row = ledger.get(m.version);
    const change = changes[i];
    if (row && !change) continue;
    const stale = new Set<string>();
    const ran = (s: Statement) => {
      if (s.kind === 'view') stale.delete(s.object);
      if (s.kind === 'function') {
        const changed = callersOf(s.object);
        for (const v of views) {
          const definition = viewDefinition(i, v);
          if (definition && calls(definition.sql, changed)) stale.add(v);
        }
      }
    };
    if (!row) {
      for (const s of parsed[i]!) {
        await wh.exec(s.sql);
        ran(s);
      }
      applied.push(m.name);
    } else {
      const redo = change!.filter((s) => !definedLater(i, s.object));
      for (const s of redo) {
        await s.redefine!(wh);
        ran(s);
      }
      if (redo.length > 0) reapplied.push(m.name);
    }
    for (const v of stale) await viewDefinition(i, v)!.redefine!(wh);
    // Recorded last: a run cut short before this line does it all again at the next start. A
    // record that only gains its statements (or a comment's new checksum) keeps its time.
    const statements = parsed[i]!.map((s) => s.key);
    const appliedAt = row && !reapplied.includes(m.name) ? row.applied_at : Date.now();
    await wh.insert('keyrev_migrations', [{ version: m.version, name: m.name, checksum: m.checksum, applied_at: appliedAt, statements }]);
    ledger.set(m.version, { version: m.version, checksum: m.checksum, applied_at: String(appliedAt), statements });
  }
  return { applied, reapplied, current: known };
}
