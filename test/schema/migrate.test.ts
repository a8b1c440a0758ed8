import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../schema/migrate.js';
import { StartupError } from '../../core/errors.js';
import { EmbeddedWarehouse } from '../../warehouse/embedded.js';
import { tempDir } from '../helpers/temp.js';

describe('schema migrations', () => {
  let wh: EmbeddedWarehouse;
  beforeAll(async () => {
    wh = await EmbeddedWarehouse.open(tempDir());
  });
  afterAll(async () => wh.close());

  const tables = async () =>
    (await wh.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name')).map((r) => r.name);

  it('applies every migration on a fresh database and records each in the ledger', async () => {
    const all = loadMigrations();
    const result = await migrate(wh);
    expect(result.applied).toEqual(all.map((m) => m.name));
    expect(result.current).toBe(all.length);
    expect(await tables()).toEqual(
      expect.arrayContaining(['clicks', 'conversions', 'postbacks', 'campaigns', 'networks', 'postback_rules', 'alert_rules', 'api_keys', 'keyrev_migrations']),
    );
    const ledger = await wh.query<{ version: number; name: string }>('SELECT version, name FROM keyrev_migrations FINAL ORDER BY version');
    expect(ledger.map((r) => r.name)).toEqual(all.map((m) => m.name));
  });

  it('does nothing when run again', async () => {
    const before = await tables();
    const result = await migrate(wh);
    expect(result.applied).toEqual([]);
    expect(await tables()).toEqual(before);
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
