import { KeyrevError, fail } from '../core/errors.js';
import { findDeliveries, queueKeyOf, readQueue, writeDeliveries, type DeliveryRow, type QueueKey } from '../warehouse/outbox-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { Outbox } from './outbox.js';
import type { PostbackRules } from './rules.js';

/** The longest range a rule replay reads: the queue keeps 90 days (schema/010_outbound.sql). */
const maxReplayDays = 90;
const pageSize = 2_000;

/** A delivery set back to pending, at the start of the retry schedule. */
const reopened = (d: DeliveryRow, now: number): DeliveryRow => ({ ...d, state: 'pending', step: 0, nextMs: now });

/**
 * Replays: one delivery sent again, or a rule applied again to the conversions queued in a time
 * range. Either writes the deliveries' new state first; the process running the jobs sends them
 * (this one at once when it is that process, else within the open deliveries' next scan).
 */
export class Replays {
  constructor(
    private readonly wh: Warehouse,
    private readonly outbox: Outbox,
    private readonly rules: PostbackRules,
  ) {}

  async delivery(id: string): Promise<DeliveryRow> {
    const [d] = await findDeliveries(this.wh, [id]);
    if (!d) fail('KR_NOT_FOUND', `no postback delivery ${id}`);
    if (this.outbox.isSending(id)) throw new KeyrevError('KR_CONFLICT', `delivery ${id} is being sent now; replay it once this attempt is recorded`);
    const again = reopened(d, Date.now());
    await writeDeliveries(this.wh, [again]);
    await this.outbox.replay([id]);
    return again;
  }

  /**
   * The rule applied again to the conversions queued in [from, to): a delivery it should make and
   * has not is created; one that failed is sent again, and with `resend` one delivered too.
   * `conversions` counts the conversion states (a conversion at a status) the rule fires for.
   */
  async rule(ruleId: string, fromMs: number, toMs: number, resend: boolean): Promise<{ conversions: number; created: number; resent: number }> {
    const rule = this.rules.find(ruleId) ?? fail('KR_NOT_FOUND', `no postback rule ${ruleId}`);
    if (!rule.enabled) fail('KR_BAD_REQUEST', 'the rule is disabled: enable it first');
    if (toMs <= fromMs) fail('KR_BAD_REQUEST', 'body.to: must be after from');
    if (toMs - fromMs > maxReplayDays * 86_400_000) fail('KR_BAD_REQUEST', `body.to: a replay covers at most ${maxReplayDays} days`);
    // Click ids are never 0: every row queued at `from` comes after this key.
    let after: QueueKey = { queuedMs: fromMs, clickId: '0', type: '', txid: '', version: '0' };
    const totals = { conversions: 0, created: 0, resent: 0 };
    for (;;) {
      const rows = await readQueue(this.wh, after, pageSize, toMs);
      if (rows.length === 0) break;
      const { planned, created, existing } = await this.outbox.plan(rows, rule);
      totals.conversions += planned;
      totals.created += created;
      const now = Date.now();
      const again = (await findDeliveries(this.wh, existing)).filter((d) => (d.state === 'failed' || (resend && d.state === 'delivered')) && !this.outbox.isSending(d.id)).map((d) => reopened(d, now));
      await writeDeliveries(this.wh, again);
      await this.outbox.replay(again.map((d) => d.id));
      totals.resent += again.length;
      after = queueKeyOf(rows.at(-1)!);
      if (rows.length < pageSize) break;
    }
    return totals;
  }
}
