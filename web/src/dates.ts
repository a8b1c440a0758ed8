/**
 * Report ranges as calendar days of the chosen time zone (pure, no DOM). "Today" is today where
 * the media buyer's account lives, not in UTC: in Auckland at 03:00 UTC's date is still yesterday.
 */
export const presets = {
  today: 'Today',
  yesterday: 'Yesterday',
  last7: 'Last 7 days',
  last30: 'Last 30 days',
  thisMonth: 'This month',
  lastMonth: 'Last month',
  custom: 'Custom',
} as const;
export type Preset = keyof typeof presets;

export const isPreset = (p: string | null): p is Preset => p !== null && Object.hasOwn(presets, p);

const day = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar day as YYYY-MM-DD (what a date input and the API take). */
export function isDay(text: string | null): text is string {
  if (text === null || !day.test(text)) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

/** Whether Intl knows the zone (the API may still refuse one its warehouse lacks; it says so). */
export function isTimeZone(tz: string | null): tz is string {
  if (!tz) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The calendar day of `now` in `tz`, as YYYY-MM-DD. */
export function dayIn(tz: string, now: Date): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** A day moved by whole days (calendar arithmetic: days have no zone). */
export function addDays(d: string, n: number): string {
  const t = new Date(`${d}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + n);
  return t.toISOString().slice(0, 10);
}

/** A preset's first and last day (both included, as the API reads a `to` date) in `tz`. */
export function presetRange(preset: Exclude<Preset, 'custom'>, tz: string, now: Date): { from: string; to: string } {
  const today = dayIn(tz, now);
  const monthStart = `${today.slice(0, 8)}01`;
  switch (preset) {
    case 'today':
      return { from: today, to: today };
    case 'yesterday':
      return { from: addDays(today, -1), to: addDays(today, -1) };
    case 'last7':
      return { from: addDays(today, -6), to: today };
    case 'last30':
      return { from: addDays(today, -29), to: today };
    case 'thisMonth':
      return { from: monthStart, to: today };
    case 'lastMonth': {
      const lastDay = addDays(monthStart, -1);
      return { from: `${lastDay.slice(0, 8)}01`, to: lastDay };
    }
  }
}

/**
 * The zones to choose from: the browser's IANA list, UTC first, and the browser's own zone even
 * when Intl lists it under another name (Asia/Calcutta for Asia/Kolkata in older data).
 */
export function timeZones(browserZone: string): string[] {
  const listed = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set(['UTC', browserZone, ...listed])].sort((a, b) => (a === 'UTC' ? -1 : b === 'UTC' ? 1 : a.localeCompare(b)));
}
