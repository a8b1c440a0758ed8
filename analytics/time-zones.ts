import type { Warehouse } from '../warehouse/warehouse.js';

/**
 * The time zones a report may name: those the warehouse's ClickHouse knows, which is not what
 * JS Intl knows (Intl takes `utc` or `europe/berlin` in any case and `US/Pacific-New`; ClickHouse
 * refuses them, and a refused zone used to be a 500). Loaded once at start by the analytics
 * plugin. Held by the module because the report schemas are module constants; every app of a
 * process talks to the same kind of engine.
 */
let known: ReadonlySet<string> | undefined;
/** Lower case -> the engine's spelling, to suggest the right case. */
let byLowerCase: ReadonlyMap<string, string> = new Map();

export async function loadTimeZones(wh: Warehouse): Promise<void> {
  const rows = await wh.query<{ time_zone: string }>('SELECT time_zone FROM system.time_zones');
  const zones = new Set(rows.map((r) => r.time_zone));
  // system.time_zones is the engine's built-in list; it also reads the host's tz database, which
  // may be newer (a zone created last year). A zone both Intl and the engine can load counts too.
  for (const tz of Intl.supportedValuesOf('timeZone')) {
    if (zones.has(tz)) continue;
    try {
      await wh.query('SELECT toTimeZone(toDateTime64(0, 3), {tz:String}) AS t', { tz });
      zones.add(tz);
    } catch {
      // Not known to this engine: refused with a 400.
    }
  }
  known = zones;
  byLowerCase = new Map([...zones].map((z) => [z.toLowerCase(), z]));
}

const intlZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/**
 * Undefined when `tz` is a zone the engine knows, else the one-line reason. Before the list is
 * loaded (a script using the schemas without an app), Intl's list stands in, as before.
 */
export function timeZoneProblem(tz: string): string | undefined {
  if (known ? known.has(tz) : intlZone(tz)) return undefined;
  const suggestion = byLowerCase.get(tz.toLowerCase());
  return `must be an IANA time zone such as Europe/Berlin${suggestion ? ` (names are case-sensitive: did you mean ${suggestion}?)` : ''}`;
}
