import { z } from 'zod';
import { timeZoneProblem } from './time-zones.js';

/** The shape, also shown as the parameters' pattern in /docs. */
const localDateTime = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?$/;
const localDateTimeParts = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/;

/**
 * The years a bound may fall in. ClickHouse's DateTime (the rollups' buckets) and Date (the day
 * after a `to` date) hold 1970-01-01 to 2106-02-07 UTC and wrap around silently outside, so a
 * wider bound gave a wrong report; these years stay inside in every zone (UTC-12 to UTC+14).
 */
export const boundYears = { min: 1971, max: 2105 } as const;

/** A real calendar date and time: ClickHouse refuses 2026-02-30 (a 500) and rolls 25:00 over to the next day. */
function isLocalDateTime(text: string): boolean {
  const m = localDateTime.test(text) ? localDateTimeParts.exec(text) : null;
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  if (year < boundYears.min || year > boundYears.max || month < 1 || month > 12) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59;
}

/** A bound: the shape (shown in /docs), then a real date and time in the years above. */
function bound(exampleDate: string, exampleTime: string) {
  const message = `must be a date (${exampleDate}) or a local date-time (${exampleTime}), a real one in the years ${boundYears.min} to ${boundYears.max}`;
  return z.string().regex(localDateTime, message).refine(isLocalDateTime, message);
}

/**
 * `from` / `to` are dates or local date-times in `tz` (an IANA zone the warehouse knows); a date
 * alone for `to` includes that whole day. ClickHouse turns them into instants with its own zone
 * database, so half-hour offsets and DST changes inside the range come out right. Everything
 * ClickHouse would refuse is refused here, with a 400 naming the parameter.
 */
export const timeRangeFields = {
  from: bound('2026-11-01', '2026-11-01T08:00'),
  to: bound('2026-11-30', '2026-11-30T18:00'),
  tz: z
    .string()
    .max(64)
    .superRefine((tz, ctx) => {
      const problem = timeZoneProblem(tz);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('UTC'),
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
