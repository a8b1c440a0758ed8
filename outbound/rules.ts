import { KeyrevError, fail } from '../core/errors.js';
import { newObjectId } from '../core/ids.js';
import type { OutboundClient } from '../core/outbound-http.js';
import type { SettingsStore } from '../warehouse/settings-store.js';
import { maskHeaders, maskUrl, unmaskHeaders, unmaskUrl } from '../core/masking.js';
import { ruleInput, type Rule, type RuleInput, type RulePatch, type RuleView } from './rule-schema.js';

export interface RuleDeps {
  store: SettingsStore<Rule>;
  guard: Pick<OutboundClient, 'check'>;
  campaignExists(id: string): boolean;
}

/** Outgoing postback rules (`/api/postback-rules`), kept as settings documents. */
export class PostbackRules {
  constructor(private readonly deps: RuleDeps) {}

  list(): RuleView[] {
    return this.deps.store
      .list()
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
      .map(view);
  }

  /** The rules with their secrets, for the outbox. */
  all(): Rule[] {
    return this.deps.store.list();
  }

  find(id: string): Rule | undefined {
    return this.deps.store.get(id);
  }

  get(id: string): RuleView {
    return view(this.deps.store.get(id) ?? fail('KR_NOT_FOUND', `no postback rule ${id}`));
  }

  async create(input: RuleInput): Promise<RuleView> {
    await this.admit(input);
    const now = new Date().toISOString();
    return view(await this.deps.store.put({ ...input, id: newObjectId(), createdAt: now, updatedAt: now }));
  }

  async update(id: string, patch: RulePatch): Promise<RuleView> {
    const current = this.deps.store.get(id) ?? fail('KR_NOT_FOUND', `no postback rule ${id}`);
    const { id: _id, createdAt, updatedAt: _updated, ...was } = current;
    const merged: Record<string, unknown> = { ...was, ...patch };
    // null removes an optional field; a header or URL query value sent back masked keeps what is stored.
    for (const key of ['signingKey', 'source', 'campaignId'] as const) if (patch[key] === null) delete merged[key];
    if (patch.scope !== undefined && patch.scope !== current.scope) {
      if (patch.source === undefined && patch.scope !== 'source') delete merged.source;
      if (patch.campaignId === undefined && patch.scope !== 'campaign') delete merged.campaignId;
    }
    if (patch.headers) merged.headers = unmaskHeaders(patch.headers, current.headers);
    if (patch.url !== undefined) merged.url = unmaskUrl(patch.url, current.url);
    const parsed = ruleInput.safeParse(merged);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      fail('KR_BAD_REQUEST', `${['body', ...issue.path].join('.')}: ${issue.message}`);
    }
    await this.admit(parsed.data);
    return view(await this.deps.store.put({ ...parsed.data, id, createdAt, updatedAt: new Date().toISOString() }));
  }

  async remove(id: string): Promise<void> {
    if (!(await this.deps.store.remove(id))) fail('KR_NOT_FOUND', `no postback rule ${id}`);
  }

  /** A rule's campaign must exist, and its URL's host must not be a refused destination (SSRF). */
  private async admit(input: RuleInput): Promise<void> {
    if (input.campaignId !== undefined && !this.deps.campaignExists(input.campaignId)) fail('KR_BAD_REQUEST', `body.campaignId: no campaign ${input.campaignId}`);
    // Macros stand only after the host (httpUrlWithMacros), so the host is the rule's own.
    const refused = await this.deps.guard.check(input.url.replace(/\{[^{}]*\}/g, 'x'));
    if (refused) throw new KeyrevError('KR_BAD_REQUEST', `body.url: destination refused: ${refused}`, 'refused_destination');
  }
}

function view(r: Rule): RuleView {
  const { signingKey, ...rest } = r;
  return { ...rest, url: maskUrl(r.url), headers: maskHeaders(r.headers), hasSigningKey: signingKey !== undefined };
}
