import type { z } from 'zod';
import { clockVersion } from './version.js';
import type { Warehouse } from './warehouse.js';

/**
 * The kinds of settings documents, all in the one `settings` table (schema/008_settings_by_kind.sql).
 * A closed list in code: a module adds its kind here (no migration needed), and a kind never comes
 * from a request. The first six were tables of their own before 008 and keep those names, which
 * 008 copied as their kind.
 */
export const settingsKinds = ['campaigns', 'networks', 'postback_rules', 'alert_rules', 'api_keys', 'account_settings', 'alert_channels', 'feeds'] as const;
export type SettingsKind = (typeof settingsKinds)[number];

/**
 * Settings objects of one kind, kept in ClickHouse and served from memory. Writes go to
 * ClickHouse first and then to the cache; refresh() picks up what other processes wrote.
 */
export class SettingsStore<T extends { id: string }> {
  private cache = new Map<string, T>();
  private fingerprint = '';

  constructor(
    private readonly wh: Warehouse,
    private readonly kind: SettingsKind,
    private readonly schema: z.ZodType<T>,
  ) {
    // The type keeps kinds closed at compile time; this keeps a cast or a JavaScript caller honest.
    if (!(settingsKinds as readonly string[]).includes(kind)) throw new Error(`not a settings kind: ${kind}`);
  }

  get(id: string): T | undefined {
    return this.cache.get(id);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  async put(doc: T): Promise<T> {
    await this.write(doc.id, JSON.stringify(doc), 0);
    this.cache.set(doc.id, doc);
    return doc;
  }

  async remove(id: string): Promise<boolean> {
    if (!this.cache.has(id)) return false;
    await this.write(id, '{}', 1);
    this.cache.delete(id);
    return true;
  }

  /**
   * Reloads everything when this kind's rows changed since the last load, whoever wrote them.
   * The fingerprint covers every row of the kind, so a slow insert from another process with an
   * older version is not missed (a max(version) check would miss it), and a write of another kind
   * does not make this one reload. Both reads are a range of the table's (kind, id) order.
   */
  async refresh(): Promise<void> {
    const [row] = await this.wh.query<{ f: string }>(
      `SELECT concat(toString(count()), '/', toString(sum(cityHash64(id, version)))) AS f FROM settings WHERE kind = {kind:String}`,
      { kind: this.kind },
    );
    const fingerprint = row?.f ?? '';
    if (fingerprint === this.fingerprint) return;
    const rows = await this.wh.query<{ id: string; doc: string }>(
      'SELECT id, doc FROM settings FINAL WHERE kind = {kind:String} AND deleted = 0 ORDER BY id',
      { kind: this.kind },
    );
    const next = new Map<string, T>();
    for (const r of rows) {
      // A document an older or newer keyrev wrote in a shape this one cannot read is skipped, not fatal.
      const parsed = this.schema.safeParse(JSON.parse(r.doc));
      if (parsed.success) next.set(r.id, parsed.data);
    }
    this.cache = next;
    this.fingerprint = fingerprint;
  }

  private async write(id: string, doc: string, deleted: 0 | 1): Promise<void> {
    await this.wh.insert('settings', [{ kind: this.kind, id, doc, version: clockVersion().toString(), deleted }]);
  }
}

/**
 * The settings stores of every module: each opens its own kinds here, and one job refreshes them
 * all (other keyrev processes sharing a ClickHouse server may have changed them).
 */
export class SettingsStores {
  private readonly stores: { refresh(): Promise<void> }[] = [];

  constructor(private readonly wh: Warehouse) {}

  /** A store for one kind of settings, loaded before it is returned. */
  async open<T extends { id: string }>(kind: SettingsKind, schema: z.ZodType<T>): Promise<SettingsStore<T>> {
    const store = new SettingsStore(this.wh, kind, schema);
    await store.refresh();
    this.stores.push(store);
    return store;
  }

  async refresh(): Promise<void> {
    await Promise.all(this.stores.map((s) => s.refresh()));
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    settings: SettingsStores;
  }
}
