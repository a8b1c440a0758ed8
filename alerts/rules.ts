import { fail } from '../core/errors.js';
import { newObjectId } from '../core/ids.js';
import type { SettingsStore } from '../warehouse/settings-store.js';
import type { Rule, RuleInput } from './rule-schema.js';

/** Alert rules: what to watch, when, and whom to tell. */
export class Rules {
  constructor(
    private readonly store: SettingsStore<Rule>,
    private readonly exists: { channel(id: string): boolean; campaign(id: string): boolean },
  ) {}

  list(): Rule[] {
    return this.store.list().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get(id: string): Rule {
    return this.store.get(id) ?? fail('KR_NOT_FOUND', `no alert rule ${id}`);
  }

  /** The first rule that sends to a channel, if any. */
  usingChannel(channelId: string): string | undefined {
    return this.store.list().find((r) => r.channels.includes(channelId))?.id;
  }

  async create(input: RuleInput): Promise<Rule> {
    const missing = input.channels.find((id) => !this.exists.channel(id));
    if (missing) fail('KR_BAD_REQUEST', `body.channels: no alert channel ${missing}`);
    if (input.campaignId !== undefined && !this.exists.campaign(input.campaignId)) fail('KR_BAD_REQUEST', `body.campaignId: no campaign ${input.campaignId}`);
    return this.store.put({ ...input, id: newObjectId(), createdAt: new Date().toISOString() });
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.remove(id))) fail('KR_NOT_FOUND', `no alert rule ${id}`);
  }
}
