import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { sha256 } from '../core/digest.js';
import { fail } from '../core/errors.js';
import { newObjectId } from '../core/ids.js';
import type { SettingsStore } from '../warehouse/settings-store.js';
import type { feedInput, StoredFeed } from './feed-schema.js';

/** Stands in for a feed that does not exist, so that an unknown id costs the same comparisons. */
const absent = { username: sha256('no such feed'), passwordDigest: sha256('no such feed') };

/** Conversion feeds for ad platforms: each with basic-auth credentials shown once, stored as a digest. */
export class Feeds {
  constructor(private readonly store: SettingsStore<StoredFeed>) {}

  list(): StoredFeed[] {
    return this.store.list().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): StoredFeed {
    return this.store.get(id) ?? fail('KR_NOT_FOUND', `no feed ${id}`);
  }

  async create(input: z.output<typeof feedInput>): Promise<{ feed: StoredFeed; password: string }> {
    const id = newObjectId();
    const password = randomBytes(24).toString('base64url');
    const feed = await this.store.put({
      ...input,
      id,
      username: `feed-${id}`,
      passwordDigest: sha256(password).toString('hex'),
      createdAt: new Date().toISOString(),
    });
    return { feed, password };
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.remove(id))) fail('KR_NOT_FOUND', `no feed ${id}`);
  }

  /**
   * The feed these basic-auth credentials open, or undefined. Username and password are both
   * compared, in constant time, whether or not the feed exists, so timing tells nothing.
   */
  authenticate(id: string, username: string, password: string): StoredFeed | undefined {
    const feed = this.store.get(id);
    const expected = feed ? { username: sha256(feed.username), passwordDigest: Buffer.from(feed.passwordDigest, 'hex') } : absent;
    const userOk = timingSafeEqual(sha256(username), expected.username);
    const passwordOk = timingSafeEqual(sha256(password), expected.passwordDigest);
    return feed && userOk && passwordOk ? feed : undefined;
  }
}
