import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import type { OutboundClient, OutboundResult } from '../core/outbound-http.js';
import {
  clickExtras,
  existingDeliveries,
  findDeliveries,
  openDeliveries,
  openSummary,
  queueKeyOf,
  readCursor,
  readQueue,
  writeAttempts,
  writeCursor,
  writeDeliveries,
  type AttemptRow,
  type DeliveryRow,
  type QueueKey,
  type QueueRow,
} from '../warehouse/outbox-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { afterAttempt, defaultRetryDelaysMs, deliveryId, firingRules, macroValues, newDelivery } from './delivery.js';
import type { Rule } from './rule-schema.js';

/** What tests and benches may change; the defaults are the documented behaviour. */
export interface OutboxTuning {
  retryDelaysMs: readonly number[];
  timeoutMs: number;
  /** Requests in flight to one destination host at most. */
  perHost: number;
  /** How often open deliveries are read back from ClickHouse (replays from other processes, a restart). */
  openScanMs: number;
  /** How far back the queue is read again, for rows whose insert became visible after later ones. */
  overlapMs: number;
  sweepEveryMs: number;
  /**
   * Deliveries this process holds at most: sending, waiting for a host's turn, or waiting for a
   * retry timer. Past it, the rest stay stored and a later open scan takes them, the soonest due
   * first: a backlog (a receiver down for hours, a large replay) costs neither memory nor timers.
   */
  maxHeld: number;
  /** How far back, by creation, the open scan looks: the retry schedule and two days besides (keyrev down over a weekend). */
  openHorizonMs: number;
  /** The queue rows one rule replay reads at most (the answer says where to go on). */
  replayRowsPerCall: number;
}

const day = 86_400_000;

export const defaultTuning: OutboxTuning = {
  retryDelaysMs: defaultRetryDelaysMs,
  timeoutMs: 10_000,
  perHost: 8,
  openScanMs: 5_000,
  overlapMs: 30_000,
  sweepEveryMs: 30_000,
  maxHeld: 5_000,
  openHorizonMs: defaultRetryDelaysMs.reduce((a, b) => a + b, 0) + 2 * day,
  replayRowsPerCall: 20_000,
};

const cursorName = 'queue';
const pageSize = 2_000;
/** How far back the queue is read on the very first start (postbacks the spool replayed just before). */
const firstStartBackMs = 5 * 60_000;

export interface OutboxDeps {
  wh: Warehouse;
  rules(): Rule[];
  client: OutboundClient;
  metrics: Metrics;
  log: FastifyBaseLogger;
  tuning: OutboxTuning;
  /** false in a process that does not run the cluster jobs: it stores deliveries, the job's process sends them. */
  sends: boolean;
}

/**
 * The durable outbox, run by one process (the cluster job): reads the conversions ClickHouse
 * queued since its cursor, turns each into one delivery per firing rule (stored before it is
 * sent), sends them with bounded concurrency per host and records every attempt. Crash-safe: the
 * cursor is saved after the deliveries it covers, a delivery id is a digest of what it is for, and
 * open deliveries are read back on start. A crash between a send and its record sends that one
 * again (at least once, with the same X-Keyrev-Delivery id).
 */
export class Outbox {
  private cursor: QueueKey | undefined;
  private lastSweepMs = 0;
  private lastOpenScanMs = 0;
  /** Dispatched and not yet recorded in ClickHouse (id -> attempts before it): the open scan must not send them again. */
  private readonly inFlight = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly hosts = new Map<string, { active: number; waiting: (() => void)[] }>();
  private readonly sending = new Set<Promise<void>>();
  private pendingStates: DeliveryRow[] = [];
  private pendingAttempts: AttemptRow[] = [];
  private writeTimer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private planning: Promise<unknown> = Promise.resolve();
  private oldestOpenMs: number | undefined;
  private closed = false;
  private current: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly deps: OutboxDeps) {}

  /**
   * One run of the job. Runs never overlap (two would plan the same rows at once): a run asked for
   * while one is going happens once after it, however often it is asked for.
   */
  run(): Promise<void> {
    if (this.queued) return this.queued;
    if (this.current) {
      this.queued = this.current.catch(() => undefined).then(() => {
        this.queued = undefined;
        return this.run();
      });
      return this.queued;
    }
    this.current = this.runOnce().finally(() => (this.current = undefined));
    return this.current;
  }

  /** New queue rows, now and then the overlap and the open deliveries. */
  private async runOnce(): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    this.cursor ??= (await readCursor(this.deps.wh, cursorName)) ?? { queuedMs: now - firstStartBackMs, clickId: '0', type: '', txid: '', version: '0' };
    const before = this.cursor;
    for (let page = 0; page < 50; page++) {
      const rows = await readQueue(this.deps.wh, this.cursor, pageSize);
      if (rows.length === 0) break;
      await this.plan(rows);
      this.cursor = queueKeyOf(rows.at(-1)!);
      if (rows.length < pageSize) break;
    }
    if (now - this.lastSweepMs >= this.deps.tuning.sweepEveryMs) {
      this.lastSweepMs = now;
      await this.sweep(this.cursor.queuedMs - this.deps.tuning.overlapMs, this.cursor.queuedMs + 1);
    }
    if (this.cursor !== before) await writeCursor(this.deps.wh, cursorName, this.cursor);
    if (now - this.lastOpenScanMs >= this.deps.tuning.openScanMs) {
      this.lastOpenScanMs = now;
      // Between two writes of attempts: a write while the scan reads could let it see a delivery
      // as still pending after this process stopped holding it, and send it twice.
      const scan = this.writing.then(() => this.scanOpen());
      this.writing = scan.catch(() => undefined);
      await scan;
    }
    this.deps.metrics.outboundOldestPendingSeconds.set(this.oldestOpenMs === undefined ? 0 : (Date.now() - this.oldestOpenMs) / 1000);
  }

  /** Reads a window of the queue again; deliveries it should have made and did not are made now. */
  private async sweep(fromMs: number, toMs: number): Promise<void> {
    let after: QueueKey = { queuedMs: fromMs, clickId: '0', type: '', txid: '', version: '0' };
    for (;;) {
      const rows = await readQueue(this.deps.wh, after, pageSize, toMs);
      if (rows.length === 0) return;
      await this.plan(rows);
      after = queueKeyOf(rows.at(-1)!);
      if (rows.length < pageSize) return;
    }
  }

  /**
   * Creates the deliveries that queue rows call for and that do not exist yet, and sends them.
   * `only`: that rule's alone (a replay). Returns how many the rows call for, how many were
   * created, and the ids of those that existed.
   */
  plan(rows: readonly QueueRow[], only?: Rule): Promise<{ planned: number; created: number; existing: string[] }> {
    // One at a time (the job and a replay may read the same rows): each sees what the one before created.
    const next = this.planning.then(() => this.planNow(rows, only));
    this.planning = next.catch(() => undefined);
    return next;
  }

  private async planNow(rows: readonly QueueRow[], only?: Rule): Promise<{ planned: number; created: number; existing: string[] }> {
    const rules = this.deps.rules();
    if (rules.length === 0) return { planned: 0, created: 0, existing: [] };
    const planned = new Map<string, { row: QueueRow; rule: Rule }>();
    for (const row of rows) {
      const firing = firingRules(rules, row).filter((r) => !only || r.id === only.id);
      for (const rule of firing) planned.set(deliveryId(row, rule.id), { row, rule });
    }
    if (planned.size === 0) return { planned: 0, created: 0, existing: [] };
    const existing = await existingDeliveries(this.deps.wh, [...planned.keys()]);
    const fresh = [...planned].filter(([id]) => !existing.has(id));
    if (fresh.length > 0) {
      const clicks = await clickExtras(this.deps.wh, [...new Set(fresh.map(([, p]) => p.row.click_id))]);
      const now = Date.now();
      const deliveries = fresh.map(([id, { row, rule }]) => newDelivery(id, row, rule, macroValues(row, rule, clicks.get(row.click_id)), now));
      // Stored before it is sent: a crash from here on leaves an open delivery that a restart sends.
      await writeDeliveries(this.deps.wh, deliveries);
      for (const d of deliveries) this.dispatch(d);
    }
    return { planned: planned.size, created: fresh.length, existing: [...existing] };
  }

  /** Deliveries held now: dispatched and not yet recorded, or waiting for a retry timer. */
  private held(): number {
    return this.inFlight.size + this.retryTimers.size;
  }

  /**
   * Reads the open deliveries, the soonest due first, as many as this process may still hold:
   * sends those due that it does not hold (later ones are left to a later scan), and updates the gauges.
   */
  private async scanOpen(): Promise<void> {
    const now = Date.now();
    const since = now - this.deps.tuning.openHorizonMs;
    const summary = await openSummary(this.deps.wh, since);
    this.deps.metrics.outboundQueueDepth.set(summary.count);
    this.oldestOpenMs = summary.oldestMs;
    const room = this.deps.tuning.maxHeld - this.held();
    if (!this.deps.sends || room <= 0 || summary.count === 0) return;
    for (const d of await openDeliveries(this.deps.wh, since, room)) {
      if (d.nextMs > now) break;
      if (this.inFlight.has(d.id) || this.retryTimers.has(d.id)) continue;
      if (!this.dispatch(d)) break;
    }
  }

  /** Sends again what a replay set back to pending (its state already written), as many as this process may hold; the open scan sends the rest. */
  async replay(ids: readonly string[]): Promise<void> {
    if (!this.deps.sends) return;
    for (const d of await findDeliveries(this.deps.wh, ids)) {
      if (this.inFlight.has(d.id)) continue;
      this.clearRetry(d.id);
      if (!this.dispatch(d)) return;
    }
  }

  /** Whether a delivery is being sent by this process now (a replay of it waits). */
  isSending(id: string): boolean {
    return this.inFlight.has(id);
  }

  private retryAt(d: DeliveryRow): void {
    this.clearRetry(d.id);
    const timer = setTimeout(() => {
      this.retryTimers.delete(d.id);
      // Its failed attempt may still wait to be recorded: the retry goes anyway (it is recorded after it).
      this.inFlight.delete(d.id);
      this.dispatch(d);
    }, Math.max(0, d.nextMs - Date.now()));
    timer.unref();
    this.retryTimers.set(d.id, timer);
  }

  private clearRetry(id: string): void {
    clearTimeout(this.retryTimers.get(id));
    this.retryTimers.delete(id);
  }

  /** Sends a delivery when its host has a free slot, else queues it for the host; false when this process holds all it may (the delivery stays stored, open). */
  private dispatch(d: DeliveryRow): boolean {
    if (!this.deps.sends || this.closed || this.inFlight.has(d.id)) return false;
    if (this.held() >= this.deps.tuning.maxHeld) return false;
    this.inFlight.set(d.id, d.attempts);
    const host = hostOf(d.url);
    const slot = this.hosts.get(host) ?? { active: 0, waiting: [] };
    this.hosts.set(host, slot);
    const start = () => {
      slot.active++;
      const sending = this.attempt(d).finally(() => {
        this.sending.delete(sending);
        slot.active--;
        const next = slot.waiting.shift();
        if (next) next();
        else if (slot.active === 0) this.hosts.delete(host);
      });
      this.sending.add(sending);
    };
    if (slot.active < this.deps.tuning.perHost) start();
    else slot.waiting.push(start);
    return true;
  }

  private async attempt(d: DeliveryRow): Promise<void> {
    const result: OutboundResult = await this.deps.client.send({
      url: d.url,
      method: d.method,
      headers: d.headers,
      ...(d.method === 'POST' ? { body: d.body } : {}),
      timeoutMs: this.deps.tuning.timeoutMs,
    });
    const now = Date.now();
    const next = afterAttempt(d, result, now, this.deps.tuning.retryDelaysMs);
    this.deps.metrics.outboundDeliveries.inc({ result: !result.ok && result.refused ? 'refused' : next.state === 'retrying' ? 'retry' : next.state });
    this.pendingStates.push(next);
    this.pendingAttempts.push({
      deliveryId: d.id,
      attempt: next.attempts,
      atMs: now,
      statusCode: result.ok ? result.status : 0,
      latencyMs: result.latencyMs,
      error: result.ok ? next.lastError : result.error,
      answer: result.ok ? result.bodyStart : '',
    });
    this.writeSoon();
    // Held for its retry while there is room (the exact time); else a scan sends it once due.
    if (next.state === 'retrying' && this.held() < this.deps.tuning.maxHeld) this.retryAt(next);
  }

  /** Attempts are recorded in batches (one insert per table for many sends). */
  private writeSoon(): void {
    if (this.writeTimer) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      this.writing = this.writing.then(() => this.write());
    }, 50);
  }

  private async write(): Promise<void> {
    const states = this.pendingStates;
    const attempts = this.pendingAttempts;
    if (states.length === 0) return;
    this.pendingStates = [];
    this.pendingAttempts = [];
    try {
      await writeAttempts(this.deps.wh, attempts);
      await writeDeliveries(this.deps.wh, states);
      // Recorded: from now on the open scan reads their new state.
      for (const s of states) if (this.inFlight.get(s.id) === s.attempts - 1) this.inFlight.delete(s.id);
    } catch (err) {
      // ClickHouse away: kept, and written with the next batch.
      this.deps.log.warn({ err }, 'outgoing postbacks: recording attempts failed; will retry');
      this.pendingStates = [...states, ...this.pendingStates];
      this.pendingAttempts = [...attempts, ...this.pendingAttempts];
      if (!this.closed) this.writeSoon();
    }
  }

  /** Stops sending: retries are left to the next start (they are stored); sends in flight finish and are recorded. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    for (const slot of this.hosts.values()) slot.waiting.length = 0;
    await Promise.allSettled([...this.sending]);
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    await this.writing;
    await this.write();
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

