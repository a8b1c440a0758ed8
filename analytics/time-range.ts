import { z } from 'zod';

const localDateTime = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?$/;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * `from` / `to` are dates or local date-times in `tz` (an IANA zone); a date alone for `to`
 * includes that whole day. ClickHouse turns them into instants with its own zone database, so
 * half-hour offsets and DST changes inside the range come out right.
 */
export const timeRangeFields = {
  from: z.string().regex(localDateTime, 'must be a date (2026-11-01) or a local date-time (2026-11-01T08:00)'),
  to: z.string().regex(localDateTime, 'must be a date (2026-11-30) or a local date-time (2026-11-30T18:00)'),
  tz: z.string().max(64).refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').default('UTC'),
};

export interface TimeRange {
  from: string;
  to: string;
  tz: string;
}

/** The range as query parameters: `to` is exclusive; a date alone moves to the next day's start. */
export function rangeParams(r: TimeRange): { from: string; to: string; toIsDate: number; tz: string } {
  return { from: r.from.replace('T', ' '), to: r.to.replace('T', ' '), toIsDate: r.to.length === 10 ? 1 : 0, tz: r.tz };
}

/** SQL for the range bounds, for a query bound with rangeParams(). */
export const rangeBoundsSql = {
  from: 'parseDateTime64BestEffort({from:String}, 3, {tz:String})',
  to: 'if({toIsDate:UInt8} = 1, toDateTime64(toDate(parseDateTime64BestEffort({to:String}, 3, {tz:String})) + 1, 3, {tz:String}), parseDateTime64BestEffort({to:String}, 3, {tz:String}))',
};
