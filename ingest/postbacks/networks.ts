import type { z } from 'zod';
import { fail } from '../../core/errors.js';
import type { SettingsStore } from '../../warehouse/settings-store.js';
import type { Network, NetworkView, networkInput, networkPatch } from './network-schema.js';

/** Affiliate networks' postback settings, keyed by slug (the `:network` of `/postback/:network`). */
export class Networks {
  constructor(private readonly store: SettingsStore<Network>) {}

  list(): NetworkView[] {
    return this.store
      .list()
      .sort((a, b) => a.slug.localeCompare(b.slug))
      .map(view);
  }

  get(slug: string): NetworkView {
    return view(this.store.get(slug) ?? fail('KR_NOT_FOUND', `no network ${slug}`));
  }

  /** For the postback path: the settings with their secrets. */
  find(slug: string): Network | undefined {
    return this.store.get(slug);
  }

  async create(input: z.output<typeof networkInput>): Promise<NetworkView> {
    if (this.store.get(input.slug)) fail('KR_CONFLICT', `network ${input.slug} exists already`);
    const now = new Date().toISOString();
    return view(await this.store.put({ ...input, id: input.slug, createdAt: now, updatedAt: now }));
  }

  async update(slug: string, patch: z.output<typeof networkPatch>): Promise<NetworkView> {
    const current = this.store.get(slug) ?? fail('KR_NOT_FOUND', `no network ${slug}`);
    return view(await this.store.put({ ...current, ...patch, updatedAt: new Date().toISOString() }));
  }

  async remove(slug: string): Promise<void> {
    if (!(await this.store.remove(slug))) fail('KR_NOT_FOUND', `no network ${slug}`);
  }
}

function view(n: Network): NetworkView {
  const { secret, signingKey, ...rest } = n;
  return { ...rest, hasSecret: secret !== undefined, hasSigningKey: signingKey !== undefined };
}
