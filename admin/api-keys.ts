import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { sha256 } from '../core/digest.js';
import type { ReportKeyLookup } from './auth.js';
import { fail } from '../core/errors.js';
import { newObjectId } from '../core/ids.js';
import type { SettingsStore } from '../warehouse/settings-store.js';
import type { apiKeyInput, StoredApiKey } from './api-key-schema.js';

/** Read-only report keys for media buyers: shown once at creation, stored as digests. */
export class ApiKeys implements ReportKeyLookup {
  constructor(private readonly store: SettingsStore<StoredApiKey>) {}

  hasDigest(hexDigest: string): boolean {
    return this.store.list().some((k) => k.digest === hexDigest);
  }

  list(): Omit<StoredApiKey, 'digest'>[] {
    return this.store.list().map(({ digest: _digest, ...view }) => view);
  }

  async create(input: z.output<typeof apiKeyInput>) {
    const key = `krr_${randomBytes(24).toString('base64url')}`;
    const stored = await this.store.put({
      ...input,
      id: newObjectId(),
      digest: sha256(key).toString('hex'),
      createdAt: new Date().toISOString(),
    });
    const { digest: _digest, ...view } = stored;
    return { ...view, key };
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.remove(id))) fail('KR_NOT_FOUND', `no API key ${id}`);
  }
}
