import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadMigrations, migrate } from '../../schema/migrate.js';
import { EmbeddedWarehouse } from '../../warehouse/embedded.js';
import { SettingsStore, SettingsStores, type SettingsKind } from '../../warehouse/settings-store.js';
import { tempDir } from '../helpers/temp.js';

const doc = z.object({ id: z.string(), name: z.string() });
type Doc = z.infer<typeof doc>;

/**
 * Settings of every kind in one table (schema/008_settings_by_kind.sql). Each case runs in a
 * database of its own inside the file's one engine (chdb holds one data directory per process).
 */
describe('settings stores keyed by kind', () => {
  let wh: EmbeddedWarehouse;
  beforeAll(async () => {
    wh = await EmbeddedWarehouse.open(tempDir());
  });
  afterAll(async () => wh.close());

  let n = 0;
  async function inFreshDatabase(run: () => Promise<void>): Promise<void> {
    const db = `settings_${++n}`;
    await wh.exec(`CREATE DATABASE ${db} ENGINE = Atomic`);
    await wh.exec(`USE ${db}`);
    try {
      await run();
    } finally {
      await wh.exec(`USE ${wh.database}`);
    }
  }

  const settingsMove = loadMigrations().find((m) => m.name === '008_settings_by_kind')!;
  const beforeMove = loadMigrations().filter((m) => m.version < settingsMove.version);
  const tables = async () => (await wh.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map((r) => r.name);

  /** Rows as keyrev wrote them before 008: a table per kind; c2 was created and then deleted. */
  async function writeTheOldWay(): Promise<void> {
    await wh.insert('campaigns', [
      { id: 'c1', doc: JSON.stringify({ id: 'c1', name: 'Running shoes' }), version: '100', deleted: 0 },
      { id: 'c2', doc: JSON.stringify({ id: 'c2', name: 'Gone' }), version: '101', deleted: 0 },
      { id: 'c2', doc: '{}', version: '102', deleted: 1 },
    ]);
    // The same id in another kind: ids are unique per kind only.
    await wh.insert('networks', [{ id: 'c1', doc: JSON.stringify({ id: 'c1', name: 'A network' }), version: '103', deleted: 0 }]);
  }

  async function expectTheOldRows(): Promise<void> {
    const stores = new SettingsStores(wh);
    const campaigns = await stores.open('campaigns', doc);
    const networks = await stores.open('networks', doc);
    expect(campaigns.list()).toEqual([{ id: 'c1', name: 'Running shoes' }]);
    expect(networks.list()).toEqual([{ id: 'c1', name: 'A network' }]);
    expect(await tables()).not.toContain('campaigns');
    expect(await tables()).not.toContain('legacy_settings');
  }

  it('keeps the settings a database held in the old tables', async () => {
    await inFreshDatabase(async () => {
      await migrate(wh, beforeMove);
      await writeTheOldWay();
      const result = await migrate(wh);
      expect(result.applied).toContain('008_settings_by_kind');
      await expectTheOldRows();
    });
  });

  it('finishes a move that was cut short after some old tables were copied and dropped', async () => {
    await inFreshDatabase(async () => {
      await migrate(wh, beforeMove);
      await writeTheOldWay();
      // The move's statements up to the drop of `campaigns`, then the process died.
      const upTo = settingsMove.statements.findIndex((s) => /^DROP TABLE IF EXISTS campaigns$/.test(s));
      expect(upTo).toBeGreaterThan(0);
      for (const statement of settingsMove.statements.slice(0, upTo + 1)) await wh.exec(statement);
      expect(await tables()).not.toContain('campaigns');

      expect((await migrate(wh)).applied).toContain('008_settings_by_kind');
      await expectTheOldRows();
    });
  });

  it('gives each kind only its own rows, also for the same id', async () => {
    await inFreshDatabase(async () => {
      await migrate(wh);
      const stores = new SettingsStores(wh);
      const campaigns = await stores.open('campaigns', doc);
      const networks = await stores.open('networks', doc);
      await campaigns.put({ id: 'x', name: 'campaign x' });
      await networks.put({ id: 'x', name: 'network x' });
      await networks.put({ id: 'y', name: 'network y' });
      await campaigns.remove('x');

      // What another process loads from ClickHouse.
      const other = new SettingsStores(wh);
      const otherCampaigns = await other.open('campaigns', doc);
      const otherNetworks = await other.open('networks', doc);
      expect(otherCampaigns.list()).toEqual([]);
      expect(otherNetworks.list()).toEqual<Doc[]>([
        { id: 'x', name: 'network x' },
        { id: 'y', name: 'network y' },
      ]);

      // A write of one kind is picked up by that kind's store only.
      await campaigns.put({ id: 'z', name: 'campaign z' });
      await other.refresh();
      expect(otherCampaigns.list()).toEqual([{ id: 'z', name: 'campaign z' }]);
      expect(otherNetworks.get('z')).toBeUndefined();
    });
  });

  it('refuses a kind that is not in the list', () => {
    expect(() => new SettingsStore(wh, 'feeds; DROP TABLE settings' as SettingsKind, doc)).toThrow(/not a settings kind/);
  });
});
