import { fail } from '../core/errors.js';
import { newObjectId } from '../core/ids.js';
import { mask, maskHeaders, maskUrlPath } from '../core/masking.js';
import type { OutboundClient } from '../core/outbound-http.js';
import type { SettingsStore } from '../warehouse/settings-store.js';
import type { Channel, ChannelInput } from './channel-schema.js';

/**
 * A channel as the API shows it (core/masking.ts): tokens and passwords masked, header values but
 * the harmless ones, and a webhook URL's path and query (a chat webhook's URL is its secret).
 */
export function maskChannel(c: Channel): Channel {
  switch (c.type) {
    case 'webhook':
      return { ...c, url: maskUrlPath(c.url), headers: maskHeaders(c.headers) };
    case 'slack':
      return { ...c, webhookUrl: maskUrlPath(c.webhookUrl) };
    case 'telegram':
      return { ...c, botToken: mask };
    case 'twilio-sms':
      return { ...c, authToken: mask };
    case 'email':
      return c;
  }
}

/** The URLs a channel sends to, checked against the outgoing-request guard when it is saved. */
function destinations(c: ChannelInput): string[] {
  switch (c.type) {
    case 'webhook':
      // Placeholders stand only after the host: the host is the channel's own.
      return [c.url.replace(/\{[^{}]*\}/g, 'x')];
    case 'slack':
      return [c.apiBase ?? c.webhookUrl];
    case 'telegram':
    case 'twilio-sms':
      return c.apiBase ? [c.apiBase] : [];
    case 'email':
      return [];
  }
}

/** Alert channels: where alerts go. Stored whole; shown masked. */
export class Channels {
  constructor(
    private readonly store: SettingsStore<Channel>,
    private readonly outbound: OutboundClient,
    private readonly smtpConfigured: boolean,
    /** Whether a rule sends to the channel: such a channel cannot be deleted. */
    private readonly usedBy: (channelId: string) => string | undefined,
  ) {}

  list(): Channel[] {
    return this.store.list().sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  find(id: string): Channel | undefined {
    return this.store.get(id);
  }

  get(id: string): Channel {
    return this.store.get(id) ?? fail('KR_NOT_FOUND', `no alert channel ${id}`);
  }

  async create(input: ChannelInput): Promise<Channel> {
    if (input.type === 'email' && !this.smtpConfigured) fail('KR_BAD_REQUEST', 'body.type: email channels need KEYREV_SMTP_URL to be set');
    for (const url of destinations(input)) {
      const refused = await this.outbound.check(url);
      if (refused) fail('KR_BAD_REQUEST', `body: ${new URL(url).host} cannot be sent to: ${refused}`);
    }
    return this.store.put({ ...input, id: newObjectId(), createdAt: new Date().toISOString() } as Channel);
  }

  async remove(id: string): Promise<void> {
    this.get(id);
    const rule = this.usedBy(id);
    if (rule) fail('KR_CONFLICT', `alert rule ${rule} sends to this channel: change or delete the rule first`);
    await this.store.remove(id);
  }
}
