import type { Figures } from '../warehouse/alert-store.js';
import type { Rule } from './rule-schema.js';

/** Incoming postbacks over a rule's window, refused (4xx) and accepted; outgoing attempts, failed and all. */
export interface PostbackCounts {
  refused: number;
  accepted: number;
  outgoing: { failed: number; total: number };
}

export interface Verdict {
  /** The condition holds: a rule without an open incident opens one. */
  starts: boolean;
  /** The condition is over: a rule's open incident resolves. */
  ends: boolean;
  value: number;
  figure: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const money = (n: number) => n.toFixed(2);

/**
 * Whether a rule's condition starts or ends, from its window's figures. A missing sale or
 * conversion counts only where there was traffic (at least minClicks clicks, 1 by default): a
 * campaign that has not started, or was paused, does not page forever; once an incident is open
 * it ends only when a sale (conversion, revenue) comes, not when the traffic stops too.
 */
export function judge(rule: Rule, f: Figures, postbacks: PostbackCounts): Verdict {
  const window = `in the last ${rule.windowMinutes} min`;
  const traffic = f.clicks >= (rule.minClicks ?? 1);
  switch (rule.condition) {
    case 'no_sales':
    case 'no_conversions':
    case 'clicks_without_conversions': {
      const count = rule.condition === 'no_sales' ? f.paid : f.conversions;
      const word = rule.condition === 'no_sales' ? 'sale' : 'conversion';
      return { starts: traffic && count === 0, ends: count > 0, value: count, figure: `${plural(count, word)} ${window} (${plural(f.clicks, 'click')})` };
    }
    case 'revenue_below': {
      const threshold = rule.threshold ?? 0;
      return {
        starts: traffic && f.revenue < threshold,
        ends: f.revenue >= threshold,
        value: f.revenue,
        figure: `revenue ${money(f.revenue)} ${window}, below ${money(threshold)} (${plural(f.clicks, 'click')})`,
      };
    }
    case 'postback_failures': {
      const incoming = postbacks.refused + postbacks.accepted;
      const failed = postbacks.refused + postbacks.outgoing.failed;
      const total = incoming + postbacks.outgoing.total;
      const share = total === 0 ? 0 : failed / total;
      const threshold = rule.threshold ?? 1;
      return {
        starts: failed > 0 && share >= threshold,
        ends: share < threshold,
        value: share,
        figure: `${Math.round(share * 100)}% of postbacks failed ${window} (incoming: ${postbacks.refused} of ${incoming} refused; outgoing: ${postbacks.outgoing.failed} of ${postbacks.outgoing.total} attempts failed)`,
      };
    }
  }
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether `now` is inside the rule's active hours in their zone (always, without them). */
export function isActive(rule: Rule, now: Date): boolean {
  const hours = rule.activeHours;
  if (!hours) return true;
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: hours.tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = part('hour') * 60 + part('minute');
  const from = minutesOf(hours.from);
  const to = minutesOf(hours.to);
  if (from === to) return true;
  return from < to ? local >= from && local < to : local >= from || local < to;
}

/** Where a rule looks, in words: `campaign "Spring" (id abc), source google, keyword "shoes"`. */
export function scopeText(rule: Rule, campaignName: string | undefined): string {
  const parts = [
    ...(rule.campaignId ? [`campaign "${campaignName ?? rule.campaignId}"`] : []),
    ...(rule.source ? [`source "${rule.source}"`] : []),
    ...(rule.keyword ? [`keyword "${rule.keyword}"`] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : 'all campaigns';
}
