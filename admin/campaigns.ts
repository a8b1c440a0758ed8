import { fail } from '../core/errors.js';
import { newObjectId } from '../core/ids.js';
import type { SettingsStore } from '../warehouse/settings-store.js';
import { campaignInput, type Campaign } from './campaign-schema.js';
import type { z } from 'zod';

export class Campaigns {
  constructor(private readonly store: SettingsStore<Campaign>) {}

  list(): Campaign[] {
    return this.store.list().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): Campaign {
    return this.store.get(id) ?? fail('KR_NOT_FOUND', `no campaign ${id}`);
  }

  /** For the click path: undefined rather than an error, the caller falls back. */
  find(id: string): Campaign | undefined {
    return this.store.get(id);
  }

  async create(input: z.output<typeof campaignInput>): Promise<Campaign> {
    const now = new Date().toISOString();
    return this.store.put({ ...input, id: newObjectId(), createdAt: now, updatedAt: now });
  }

  async update(id: string, patch: Partial<z.output<typeof campaignInput>>): Promise<Campaign> {
    const current = this.get(id);
    return this.store.put({ ...current, ...patch, id, updatedAt: new Date().toISOString() });
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.remove(id))) fail('KR_NOT_FOUND', `no campaign ${id}`);
  }
}
