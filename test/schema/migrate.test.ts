import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversionSumFunctions } from '../../analytics/report-metrics.js';
import { loadMigrations, migrate } from '../../schema/migrate.js';
import { StartupError } from '../../core/errors.js';
import { EmbeddedWarehouse } from '../../warehouse/embedded.js';
import { tempDir } from '../helpers/temp.js';

// One engine for the file: chdb holds one data directory per process.
let wh: EmbeddedWarehouse;
beforeAll(async () => {
  wh = await EmbeddedWarehouse.open(tempDir());
});
afterAll(async () => wh.close());

describe('schema migrations', () => {
  const tables = async () =>
    (await wh.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name')).map((r) => r.name);

  it('applies every migration on a fresh database and records each in the ledger', async () => {
    const all = loadMigrations();
    const result = await migrate(wh);
    expect(result.applied).toEqual(all.map((m) => m.name));
    expect(result.current).toBe(all.length);
    expect(await tables()).toEqual(
      expect.arrayContaining(['clicks', 'conversions', 'postbacks', 'settings', 'keyrev_migrations']),
    );
    // 008 moved the settings of every kind into `settings`; the tables of 003 and 004 are gone.
    const moved = ['campaigns', 'networks', 'postback_rules', 'alert_rules', 'api_keys', 'account_settings', 'legacy_settings'];
    expect((await tables()).filter((t) => moved.includes(t))).toEqual([]);
    const ledger = await wh.query<{ version: number; name: string }>('SELECT version, name FROM keyrev_migrations FINAL ORDER BY version');
    expect(ledger.map((r) => r.name)).toEqual(all.map((m) => m.name));
  });

  it('defines the status functions that analytics calls, and the rollup views call them', async () => {
    const fns = await wh.query<{ name: string }>("SELECT name FROM system.functions WHERE origin = 'SQLUserDefined' AND name LIKE 'kr\\_%' ORDER BY name");
    expect(fns.map((f) => f.name)).toEqual(Object.values(conversionSumFunctions).sort());
    // ClickHouse stores a view with the functions' bodies copied in: 007's queries, not 006's sumIf.
    const views = await wh.query<{ name: string; q: string }>(
      "SELECT name, as_select AS q FROM system.tables WHERE database = currentDatabase() AND name LIKE 'conversion\\_stats\\_%\\_mv' ORDER BY name",
    );
    expect(views.map((v) => v.name)).toEqual(['conversion_stats_search_daily_mv', 'conversion_stats_search_mv', 'conversion_stats_utm_mv']);
    for (const v of views) expect([v.name, v.q.includes('conv_revenue'), v.q.includes('sumIf')]).toEqual([v.name, true, false]);
  });

  it('does nothing when run again', async () => {
    const before = await tables();
    const ledger = () => wh.query('SELECT version, checksum, applied_at, statements FROM keyrev_migrations FINAL ORDER BY version');
    const views = () => wh.query("SELECT name, as_select FROM system.tables WHERE database = currentDatabase() AND engine = 'MaterializedView' ORDER BY name");
    const [ledgerBefore, viewsBefore] = [await ledger(), await views()];
    const result = await migrate(wh);
    expect(result.applied).toEqual([]);
    expect(result.reapplied).toEqual([]);
    expect(await tables()).toEqual(before);
    expect(await ledger()).toEqual(ledgerBefore);
    expect(await views()).toEqual(viewsBefore);
    const [row] = await wh.query<{ c: string }>('SELECT count() AS c FROM keyrev_migrations FINAL');
    expect(Number(row!.c)).toBe(loadMigrations().length);
  });

  it('finishes a run that was cut short after some statements', async () => {
    const last = loadMigrations().at(-1)!;
    await wh.exec('DELETE FROM keyrev_migrations WHERE version = {v:UInt32}', { v: last.version });
    const result = await migrate(wh);
    expect(result.applied).toEqual([last.name]);
  });

  it('refuses to run when the ledger is ahead of the code', async () => {
    await wh.insert('keyrev_migrations', [{ version: 999, name: '999_future', checksum: 'x', applied_at: Date.now() }]);
    const err = await migrate(wh).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toMatch(/schema is at version 999 but this keyrev knows only up to \d+/);
    await wh.exec('DELETE FROM keyrev_migrations WHERE version = 999');
  });

  it('rejects a gap in the numbering of schema files', () => {
    const dir = tempDir('keyrev-schema-');
    fs.writeFileSync(path.join(dir, '001_a.sql'), 'SELECT 1;\n');
    fs.writeFileSync(path.join(dir, '003_c.sql'), 'SELECT 3;\n');
    expect(() => loadMigrations(dir)).toThrow(/without gaps/);
  });

  it('splits a file into statements and ignores comment lines', () => {
    const dir = tempDir('keyrev-schema-');
    fs.writeFileSync(path.join(dir, '001_a.sql'), '-- a comment; with a semicolon\nCREATE TABLE IF NOT EXISTS a (x UInt8)\nENGINE = Memory;\n\nSELECT 2;\n');
    const [m] = loadMigrations(dir);
    expect(m!.statements).toEqual(['CREATE TABLE IF NOT EXISTS a (x UInt8)\nENGINE = Memory', 'SELECT 2']);
  });
});

/**
 * Applied migrations checked against their files. Each case migrates a small schema of its own
 * in a database of its own (in the file's one engine), then changes a file and migrates again. Functions belong to the engine, not to a
 * database, so these use names of their own (t_*), never the kr_* functions of the real schema.
 */
describe('schema migrations whose files changed after they were applied', () => {
  let n = 0;
  /** A fresh database for one case, and its schema directory; queries run in it until `done`. */
  async function scratch(): Promise<{ dir: string; write: (file: string, text: string) => void; done: () => Promise<void> }> {
    const db = `scratch_${++n}`;
    await wh.exec(`CREATE DATABASE IF NOT EXISTS ${db} ENGINE = Atomic`);
    await wh.exec(`USE ${db}`);
    const dir = tempDir('keyrev-schema-');
    return { dir, write: (file, text) => fs.writeFileSync(path.join(dir, file), text), done: () => wh.exec(`USE ${wh.database}`) };
  }
  const total = async () => Number((await wh.query<{ t: string }>('SELECT sum(total) AS t FROM dst'))[0]!.t);

  const tablesSql = `CREATE TABLE IF NOT EXISTS src (status String, amount Int64) ENGINE = MergeTree ORDER BY tuple();
CREATE TABLE IF NOT EXISTS dst (total Int64) ENGINE = SummingMergeTree ORDER BY tuple();
`;
  const viewSql = (statuses: string) => `-- sales only, at first
CREATE MATERIALIZED VIEW IF NOT EXISTS dst_mv TO dst AS
SELECT sum(amount) AS total FROM src WHERE status IN (${statuses});
`;

  it('applies a changed materialized view: rows inserted afterwards follow the new query, into the same TO table', async () => {
    const s = await scratch();
    try {
      s.write('001_t.sql', tablesSql + viewSql("'sale'"));
      expect((await migrate(wh, loadMigrations(s.dir))).applied).toEqual(['001_t']);
      await wh.exec("INSERT INTO src VALUES ('sale', 5), ('lead', 7)");
      expect(await total()).toBe(5);

      s.write('001_t.sql', tablesSql + viewSql("'sale', 'lead'"));
      const result = await migrate(wh, loadMigrations(s.dir));
      expect(result).toEqual({ applied: [], reapplied: ['001_t'], current: 1 });
      await wh.exec("INSERT INTO src VALUES ('sale', 5), ('lead', 7)");
      expect(await total()).toBe(5 + 12);
      // The new checksum is recorded: the next start has nothing to do.
      expect(await migrate(wh, loadMigrations(s.dir))).toEqual({ applied: [], reapplied: [], current: 1 });
    } finally {
      await s.done();
    }
  });

  it('re-creates a changed materialized view that writes to another TO table', async () => {
    const s = await scratch();
    try {
      s.write('001_t.sql', `${tablesSql}CREATE TABLE IF NOT EXISTS dst2 (total Int64) ENGINE = SummingMergeTree ORDER BY tuple();\n`);
      s.write('002_v.sql', viewSql("'sale'"));
      await migrate(wh, loadMigrations(s.dir));
      s.write('002_v.sql', viewSql("'sale'").replace('TO dst ', 'TO dst2 '));
      expect((await migrate(wh, loadMigrations(s.dir))).reapplied).toEqual(['002_v']);
      await wh.exec("INSERT INTO src VALUES ('sale', 5)");
      const [row] = await wh.query<{ a: string; b: string }>('SELECT (SELECT sum(total) FROM dst) AS a, (SELECT sum(total) FROM dst2) AS b');
      expect([Number(row!.a), Number(row!.b)]).toEqual([0, 5]);
    } finally {
      await s.done();
    }
  });

  it('applies a changed function and defines again the views that call it (ClickHouse copied the old body into them)', async () => {
    const s = await scratch();
    try {
      const fn = (body: string) => `CREATE FUNCTION IF NOT EXISTS t_paid_${n} AS (status, amount) -> ${body};\n`;
      s.write('001_f.sql', fn("if(status = 'sale', amount, 0)"));
      s.write('002_t.sql', `${tablesSql}CREATE MATERIALIZED VIEW IF NOT EXISTS dst_mv TO dst AS SELECT sum(t_paid_${n}(status, amount)) AS total FROM src;\n`);
      await migrate(wh, loadMigrations(s.dir));
      await wh.exec("INSERT INTO src VALUES ('sale', 5), ('rebill', 3)");
      expect(await total()).toBe(5);

      s.write('001_f.sql', fn("if(status IN ('sale', 'rebill'), amount, 0)"));
      expect((await migrate(wh, loadMigrations(s.dir))).reapplied).toEqual(['001_f']);
      await wh.exec("INSERT INTO src VALUES ('sale', 5), ('rebill', 3)");
      expect(await total()).toBe(5 + 8);
    } finally {
      await s.done();
    }
  });

  it('defines again a view that calls a changed function through another function', async () => {
    const s = await scratch();
    try {
      const inner = (body: string) => `CREATE FUNCTION IF NOT EXISTS t_inner_${n} AS (amount) -> ${body};\n`;
      s.write('001_f.sql', inner('amount'));
      s.write('002_g.sql', `CREATE FUNCTION IF NOT EXISTS t_outer_${n} AS (status, amount) -> if(status = 'sale', t_inner_${n}(amount), 0);\n`);
      s.write('003_t.sql', `${tablesSql}CREATE MATERIALIZED VIEW IF NOT EXISTS dst_mv TO dst AS SELECT sum(t_outer_${n}(status, amount)) AS total FROM src;\n`);
      await migrate(wh, loadMigrations(s.dir));
      s.write('001_f.sql', inner('amount * 10'));
      expect((await migrate(wh, loadMigrations(s.dir))).reapplied).toEqual(['001_f']);
      await wh.exec("INSERT INTO src VALUES ('sale', 5)");
      expect(await total()).toBe(50);
    } finally {
      await s.done();
    }
  });

  it('refuses a changed table with a one-line message naming the file, before running anything', async () => {
    const s = await scratch();
    try {
      s.write('001_t.sql', tablesSql + viewSql("'sale'"));
      await migrate(wh, loadMigrations(s.dir));
      const ledger = () => wh.query('SELECT version, checksum, statements FROM keyrev_migrations FINAL');
      const before = await ledger();

      // A new column in the table and a changed view in the same file.
      s.write('001_t.sql', tablesSql.replace('amount Int64)', 'amount Int64, currency String)') + viewSql("'sale', 'lead'"));
      const err = await migrate(wh, loadMigrations(s.dir)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StartupError);
      const message = (err as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toBe(
        'schema file 001_t.sql changed after it was applied to this database (table src): restore it and put the change in a new numbered migration (002_<name>.sql)',
      );
      // The view was not re-defined and the ledger still holds the applied file.
      await wh.exec("INSERT INTO src VALUES ('lead', 7)");
      expect(await total()).toBe(0);
      expect(await ledger()).toEqual(before);
    } finally {
      await s.done();
    }
  });

  it('refuses a removed statement, and takes a change of comments or indentation as no change', async () => {
    const s = await scratch();
    try {
      s.write('001_t.sql', tablesSql + viewSql("'sale'"));
      await migrate(wh, loadMigrations(s.dir));

      s.write('001_t.sql', `-- a new comment\n${tablesSql.replace('ENGINE = MergeTree', '\n    ENGINE   = MergeTree')}${viewSql("'sale'").replace('-- sales only, at first', '-- only sales')}`);
      expect(await migrate(wh, loadMigrations(s.dir))).toEqual({ applied: [], reapplied: [], current: 1 });

      s.write('001_t.sql', tablesSql);
      const err = await migrate(wh, loadMigrations(s.dir)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StartupError);
      expect((err as Error).message).toMatch(/^schema file 001_t\.sql changed .*\(view dst_mv removed\): restore it/);
    } finally {
      await s.done();
    }
  });

  it('records the statements of a ledger written before they were recorded, and checks changes against them from then on', async () => {
    const s = await scratch();
    try {
      s.write('001_t.sql', tablesSql + viewSql("'sale'"));
      const [m] = loadMigrations(s.dir);
      for (const statement of m!.statements) await wh.exec(statement);
      // The ledger as keyrev wrote it before this check existed: no statements column.
      await wh.exec("CREATE TABLE keyrev_migrations (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree ORDER BY version");
      await wh.insert('keyrev_migrations', [{ version: 1, name: m!.name, checksum: m!.checksum, applied_at: Date.now() }]);

      expect(await migrate(wh, loadMigrations(s.dir))).toEqual({ applied: [], reapplied: [], current: 1 });
      const [row] = await wh.query<{ statements: string[] }>('SELECT statements FROM keyrev_migrations FINAL');
      expect(row!.statements.map((k) => k.split(' ').slice(0, 2).join(' '))).toEqual(['table src', 'table dst', 'view dst_mv']);

      s.write('001_t.sql', tablesSql.replace('Int64)', 'Int32)') + viewSql("'sale'"));
      await expect(migrate(wh, loadMigrations(s.dir))).rejects.toThrow(/\(table src\)/);
    } finally {
      await s.done();
    }
  });

  it('refuses a changed file of an old ledger that holds a table, as it cannot tell which statement changed', async () => {
    const s = await scratch();
    try {
      s.write('001_t.sql', tablesSql + viewSql("'sale'"));
      const [m] = loadMigrations(s.dir);
      for (const statement of m!.statements) await wh.exec(statement);
      await wh.exec("CREATE TABLE keyrev_migrations (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree ORDER BY version");
      await wh.insert('keyrev_migrations', [{ version: 1, name: m!.name, checksum: m!.checksum, applied_at: Date.now() }]);

      s.write('001_t.sql', tablesSql + viewSql("'sale', 'lead'"));
      await expect(migrate(wh, loadMigrations(s.dir))).rejects.toThrow(/001_t\.sql changed .*\(table src\), and the database has no record of which statement changed/);
    } finally {
      await s.done();
    }
  });
});
