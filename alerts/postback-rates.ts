import type { Metrics } from '../core/metrics.js';

interface Sample {
  atMs: number;
  refused: number;
  accepted: number;
}

/** The history kept reaches back at least this far, so that a new rule sees its window's past at once. */
const minHorizonMs = 3_600_000;
/** Samples kept per horizon at most: a window's start is placed to within horizon / this. */
const samplesPerHorizon = 1_000;

const sum = async (counter: Metrics['postbacks'] | Metrics['postbackRefusals'], keep: (labels: Record<string, unknown>) => boolean) =>
  (await counter.get()).values.filter((v) => keep(v.labels)).reduce((total, v) => total + v.value, 0);

/**
 * Incoming postbacks refused and accepted over a window, from this process's /metrics counters
 * sampled at each check (refused postbacks are answered and counted, never stored). A postback
 * that could not be spooled (`lost`) counts as refused: the network was told to retry. With
 * several keyrev processes, only the postbacks of the one running the checks are counted, and a
 * restart starts the count again.
 */
export class PostbackRates {
  private readonly samples: Sample[] = [];
  private last: Sample;

  /** The counters start at 0 with the process: that is the first sample. */
  constructor(
    private readonly metrics: Pick<Metrics, 'postbacks' | 'postbackRefusals'>,
    startMs = Date.now(),
  ) {
    this.last = { atMs: startMs, refused: 0, accepted: 0 };
    this.samples.push(this.last);
  }

  /** Takes this check's sample; keeps a thinned history of the longest window asked for (an hour at least). */
  async sample(nowMs: number, longestWindowMs: number): Promise<void> {
    const lost = await sum(this.metrics.postbacks, (l) => l.result === 'lost');
    const accepted = (await sum(this.metrics.postbacks, () => true)) - lost;
    const refused = (await sum(this.metrics.postbackRefusals, () => true)) + lost;
    this.last = { atMs: nowMs, refused, accepted };
    const horizon = Math.max(longestWindowMs, minHorizonMs);
    if (nowMs - this.samples.at(-1)!.atMs >= horizon / samplesPerHorizon) this.samples.push(this.last);
    while (this.samples.length > 1 && this.samples[1]!.atMs <= nowMs - horizon) this.samples.shift();
  }

  /** The counts since the sample at or before the window's start (the oldest kept, early on). */
  over(windowMs: number, nowMs: number): { refused: number; accepted: number } {
    const start = this.samples.findLast((s) => s.atMs <= nowMs - windowMs) ?? this.samples[0]!;
    return { refused: this.last.refused - start.refused, accepted: this.last.accepted - start.accepted };
  }
}
