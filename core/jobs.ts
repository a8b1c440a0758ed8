/**
 * Named periodic jobs. `process` jobs run in every keyrev process (refreshing its own caches);
 * `cluster` jobs act on shared state (alert checks, outgoing deliveries) and must run in exactly
 * one process when several share a ClickHouse server: they run only where KEYREV_JOBS is on
 * (the default; set it to off on every process but one). A job's runs never overlap, and a
 * failed run is logged and tried again at the next interval.
 */
export interface Job {
  name: string;
  everyMs: number;
  scope: 'process' | 'cluster';
  run(): Promise<void>;
}

export interface JobStatus {
  name: string;
  scope: Job['scope'];
  /** false: a cluster job in a process with KEYREV_JOBS=off. */
  enabled: boolean;
  runs: number;
  failures: number;
  lastError: string | undefined;
}

interface Entry {
  job: Job;
  status: JobStatus;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
}

export class JobRunner {
  private readonly entries = new Map<string, Entry>();
  private started = false;

  constructor(private readonly opts: { clusterJobs: boolean; onError(job: string, err: unknown): void }) {}

  add(job: Job): void {
    if (this.entries.has(job.name)) throw new Error(`job ${job.name} is added twice`);
    const enabled = job.scope === 'process' || this.opts.clusterJobs;
    const entry: Entry = { job, status: { name: job.name, scope: job.scope, enabled, runs: 0, failures: 0, lastError: undefined }, timer: undefined, running: undefined };
    this.entries.set(job.name, entry);
    if (this.started) this.schedule(entry);
  }

  start(): void {
    this.started = true;
    for (const entry of this.entries.values()) this.schedule(entry);
  }

  /** Stops every timer and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.started = false;
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    await Promise.all([...this.entries.values()].map((e) => e.running));
  }

  /** Runs a job now (tests, an operator's request), after the run in progress if there is one. */
  async runNow(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no job ${name}`);
    await entry.running;
    await this.runOnce(entry);
  }

  list(): JobStatus[] {
    return [...this.entries.values()].map((e) => ({ ...e.status }));
  }

  private schedule(entry: Entry): void {
    if (!this.started || !entry.status.enabled) return;
    entry.timer = setTimeout(() => {
      void this.runOnce(entry).finally(() => this.schedule(entry));
    }, entry.job.everyMs);
    entry.timer.unref();
  }

  private runOnce(entry: Entry): Promise<void> {
    const run = entry.job
      .run()
      .then(
        () => {
          entry.status.lastError = undefined;
        },
        (err: unknown) => {
          entry.status.failures++;
          entry.status.lastError = err instanceof Error ? err.message : String(err);
          this.opts.onError(entry.job.name, err);
        },
      )
      .finally(() => {
        entry.status.runs++;
        entry.running = undefined;
      });
    entry.running = run;
    return run;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    jobs: JobRunner;
  }
}
