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
    applied_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY version`;

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

export interface MigrationResult {
  applied: string[];
  current: number;
}

/**
 * Brings the warehouse to the newest schema. Statements use IF NOT EXISTS, so a run cut short
 * (or two processes starting together) is safe to repeat. A ledger ahead of the code means an
 * older keyrev is pointed at a newer database: refuse rather than write rows it does not understand.
 */
export async function migrate(wh: Warehouse, migrations: Migration[] = loadMigrations()): Promise<MigrationResult> {
  await wh.exec(ledgerDdl);
  const rows = await wh.query<{ version: number }>('SELECT version FROM keyrev_migrations FINAL ORDER BY version');
  const done = new Set(rows.map((r) => Number(r.version)));
  const known = migrations.length;
  const newest = Math.max(0, ...done);
  if (newest > known) {
    throw new StartupError(
      `database schema is at version ${newest} but this keyrev knows only up to ${known}: run a newer keyrev against this database`,
    );
  }
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements) await wh.exec(statement);
    await wh.insert('keyrev_migrations', [
      { version: m.version, name: m.name, checksum: m.checksum, applied_at: Date.now() },
    ]);
    applied.push(m.name);
  }
  return { applied, current: known };
}
