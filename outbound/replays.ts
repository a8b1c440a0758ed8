import { KeyrevError, fail } from '../core/errors.js';
import { findDeliveries, queueKeyOf, readQueue, writeDeliveries, writeReplayed, type DeliveryRow, type QueueKey, type QueueRow } from '../warehouse/outbox-store.js';
import { successorVersion } from '../warehouse/version.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { Outbox, OutboxTuning } from './outbox.js';
import type { PostbackRules } from './rules.js';

/** The longest range a rule replay reads: the queue keeps 90 days (schema/010_outbound.sql). */
const maxReplayDays = 90;
const pageSize = 2_000;

/** A delivery set back to pending, at the start of the retry schedule. */
const reopened = (d: DeliveryRow, now: number): DeliveryRow => ({ ...d, state: 'pending', step: 0, nextMs: now, version: successorVersion(d.version) });

export interface RuleReplayResult {
  conversions: number;
  created: number;
  resent: number;
  /** Where the next call goes on from (its `from`) when this one stopped at its share of rows; null when the range is done. */
  next: string | null;
}

/**
 * Replays: one delivery sent again, or a rule applied again to the conversions queued in a time
 * range. Either writes the deliveries' new state (and a replay mark the open scan reads) first;
 * the process running the jobs sends them, at once when it is this one and has room, else within
 * the open scan.
 */
export class Replays {
  /** A rule replay under way in this process: a second one is refused, not run beside it. */
  private running = false;

  constructor(
    private readonly wh: Warehouse,
    private readonly outbox: Outbox,
    private readonly rules: PostbackRules,
    private readonly tuning: Pick<OutboxTuning, 'replayRowsPerCall'>,
  ) {}

  async delivery(id: string): Promise<DeliveryRow> {
    const [d] = await findDeliveries(this.wh, [id]);
    if (!d) fail('KR_NOT_FOUND', `no postback delivery ${id}`);
    if (this.outbox.isSending(id)) throw new KeyrevError('KR_CONFLICT', `delivery ${id} is being sent now; replay it once this attempt is recorded`);
    const again = reopened(d, Date.now());
    await this.reopen([again]);
    return again;
  }

  /**
   * The rule applied again to the conversions queued in [from, to): a delivery it should make and
   * has not is created; one that failed is sent again, and with `resend` one delivered too.
   * `conversions` counts the conversion states (a conversion at a status) the rule fires for. One
   * call reads at most `replayRowsPerCall` queue rows (finishing the millisecond it stopped in);
   * `next` then says where to go on from.
   */
  async rule(ruleId: string, fromMs: number, toMs: number, resend: boolean): Promise<RuleReplayResult> {
    const rule = this.rules.find(ruleId) ?? fail('KR_NOT_FOUND', `no postback rule ${ruleId}`);
    if (!rule.enabled) fail('KR_BAD_REQUEST', 'the rule is disabled: enable it first');
    if (toMs <= fromMs) fail('KR_BAD_REQUEST', 'body.to: must be after from');
    if (toMs - fromMs > maxReplayDays * 86_400_000) fail('KR_BAD_REQUEST', `body.to: a replay covers at most ${maxReplayDays} days`);
    if (this.running) throw new KeyrevError('KR_CONFLICT', 'a rule replay is under way; send this one when it has answered');
    this.running = true;
    try {
      const totals = { conversions: 0, created: 0, resent: 0 };
      const page = async (rows: readonly QueueRow[]) => {
        const { planned, created, existing } = await this.outbox.plan(rows, rule);
        totals.conversions += planned;
        totals.created += created;
        const now = Date.now();
        const again = (await findDeliveries(this.wh, existing)).filter((d) => (d.state === 'failed' || (resend && d.state === 'delivered')) && !this.outbox.isSending(d.id)).map((d) => reopened(d, now));
        await this.reopen(again);
        totals.resent += again.length;
      };
      // Click ids are never 0: every row queued at `from` comes after this key.
      let after: QueueKey = { queuedMs: fromMs, clickId: '0', type: '', txid: '', version: '0' };
      let read = 0;
      const size = Math.min(pageSize, this.tuning.replayRowsPerCall);
      for (;;) {
        const rows = await readQueue(this.wh, after, size, toMs);
        if (rows.length === 0) break;
        await page(rows);
        read += rows.length;
        after = queueKeyOf(rows.at(-1)!);
        if (rows.length < size) break;
        if (read >= this.tuning.replayRowsPerCall) {
          // The rest of this millisecond too, so the next call can start at the next one.
          const nextMs = after.queuedMs + 1;
          for (;;) {
            const rest = await readQueue(this.wh, after, pageSize, Math.min(nextMs, toMs));
            if (rest.length === 0) break;
            await page(rest);
            after = queueKeyOf(rest.at(-1)!);
          }
          return { ...totals, next: nextMs < toMs ? new Date(nextMs).toISOString() : null };
        }
      }
      return { ...totals, next: null };
    } finally {
      this.running = false;
    }
  }

  private async reopen(again: readonly DeliveryRow[]): Promise<void> {
    if (again.length === 0) return;
    await writeDeliveries(this.wh, again);
    await writeReplayed(this.wh, again.map((d) => d.id), Date.now());
    await this.outbox.replay(again.map((d) => d.id));
  }
}
