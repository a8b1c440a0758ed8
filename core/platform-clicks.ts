import { clickIdMs } from './click-id.js';
import { findParam, isUnfilledMacro, type QueryLimits } from './query-string.js';

/**
 * The ad platforms' own click ids, by the parameter that carries them: Google's `gclid` (and
 * `wbraid` / `gbraid` for iOS app and web traffic without a gclid), Microsoft's `msclkid`. Each is
 * unique to one ad click, so it names that click wherever the platform's auto-tagging put it.
 */
export const platformIdParams = ['gclid', 'msclkid', 'wbraid', 'gbraid'] as const;
export type PlatformIdParam = (typeof platformIdParams)[number];

const platformIdNames: ReadonlySet<string> = new Set(platformIdParams);

/** Longer than any real platform id (a gclid is ~100 characters); a longer value is not one. */
export const maxPlatformIdLength = 512;

// gclid=, msclkid=, wbraid=, gbraid=
const mayHoldPlatformId = /(?:clid|clkid|braid)=/;
const isPlatformId = (value: string) => value !== '' && value.length <= maxPlatformIdLength && !isUnfilledMacro(value);

/**
 * The first platform click id of a raw query string (lower-case names, as the platforms write
 * them), or undefined. A substring test first: most clicks carry none, and this runs per click.
 */
export function platformIdOfQuery(rawQuery: string, limits: QueryLimits): string | undefined {
  if (!mayHoldPlatformId.test(rawQuery)) return undefined;
  return findParam(rawQuery, platformIdNames, limits, false, isPlatformId);
}

/** The first platform click id among parsed parameters (names in any case), or undefined. */
export function platformIdOfParams(params: ReadonlyMap<string, string>): string | undefined {
  for (const [name, value] of params) {
    const trimmed = value.trim();
    if (platformIdNames.has(name.toLowerCase()) && isPlatformId(trimmed)) return trimmed;
  }
  return undefined;
}

/**
 * Where keyrev finds the click of a platform click id: the clicks this process recorded lately
 * (memory; they may not be in ClickHouse yet), then ClickHouse's `platform_clicks` table.
 */
export interface PlatformClicks {
  /** The click recorded for this platform id by this process lately, or undefined. */
  recent(platformId: string): bigint | undefined;
  /** Remembers a click's platform id (the first click of an id stays). */
  remember(platformId: string, clickId: bigint): void;
  /** The click of each id that memory or ClickHouse knows; rejects with WarehouseError when ClickHouse cannot answer. */
  find(platformIds: readonly string[]): Promise<Map<string, bigint>>;
}

export interface RecentPlatformClicksOptions {
  /** Ids older than this are forgotten: by then their clicks are in ClickHouse. */
  maxAgeMs: number;
  /** A bound on memory whatever the traffic (an entry is ~250 bytes). */
  maxEntries: number;
  /** The ClickHouse lookup of ids memory does not hold. */
  lookUp(platformIds: readonly string[]): Promise<Map<string, bigint>>;
  now?: () => number;
}

/**
 * PlatformClicks over an insertion-ordered Map: the oldest entries are first, so forgetting
 * stops at the first entry young enough, and each `remember` costs O(1) amortised.
 */
export class RecentPlatformClicks implements PlatformClicks {
  private readonly byId = new Map<string, bigint>();
  private batch: { ids: Set<string>; done: Promise<Map<string, bigint>> } | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: RecentPlatformClicksOptions) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.byId.size;
  }

  recent(platformId: string): bigint | undefined {
    const id = this.byId.get(platformId);
    return id !== undefined && clickIdMs(id) >= this.now() - this.opts.maxAgeMs ? id : undefined;
  }

  remember(platformId: string, clickId: bigint): void {
    if (this.recent(platformId) !== undefined) return;
    this.byId.delete(platformId);
    this.byId.set(platformId, clickId);
    this.forget();
  }

  async find(platformIds: readonly string[]): Promise<Map<string, bigint>> {
    const found = new Map<string, bigint>();
    const missing: string[] = [];
    for (const pid of new Set(platformIds)) {
      const id = this.recent(pid);
      if (id === undefined) missing.push(pid);
      else found.set(pid, id);
    }
    if (missing.length === 0) return found;
    const stored = await this.lookUpBatched(missing);
    for (const pid of missing) {
      const id = stored.get(pid);
      if (id !== undefined) found.set(pid, id);
    }
    return found;
  }

  /**
   * One ClickHouse query at a time: the ids asked for while one runs wait for the next, which
   * asks for all of them at once. A burst of landing pages then costs a few queries, not one each
   * (the embedded engine runs queries one after another).
   */
  private lookUpBatched(platformIds: readonly string[]): Promise<Map<string, bigint>> {
    if (!this.batch) {
      const ids = new Set<string>();
      const done = (this.inFlight ?? Promise.resolve())
        .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
        .then(() => {
          this.batch = undefined;
          return this.opts.lookUp([...ids]);
        });
      // The next batch starts when this one is answered, failed or not.
      this.inFlight = done.then(
        () => undefined,
        () => undefined,
      );
      this.batch = { ids, done };
    }
    for (const pid of platformIds) this.batch.ids.add(pid);
    return this.batch.done;
  }

  private forget(): void {
    const oldest = this.now() - this.opts.maxAgeMs;
    for (const [pid, id] of this.byId) {
      if (this.byId.size <= this.opts.maxEntries && clickIdMs(id) >= oldest) break;
      this.byId.delete(pid);
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Clicks by platform click id (gclid, msclkid, wbraid, gbraid), for the landing-page script and postbacks. */
    platformClicks: PlatformClicks;
  }
}
