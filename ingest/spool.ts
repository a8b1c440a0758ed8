import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A durable append-only log in front of ClickHouse, one per table.
 *
 * Records are appended to the active segment file and acknowledged only after an fdatasync
 * (group commit: every append that arrives while a sync runs shares the next one). A flusher
 * seals the active segment and inserts each sealed segment whole, with an insert deduplication
 * token made of the spool's id and the segment number, then deletes it. A crash at any point
 * leaves the segment on disk; start-up replays it with the same token, and ClickHouse stores it
 * once. A segment's bytes are the insert payload itself (one JSON row per line), so flushing
 * re-encodes nothing.
 */

export interface SpoolOptions {
  dir: string;
  /** Seal the active segment at this size even while the warehouse is down. */
  maxSegmentBytes: number;
  /** Seal and ship the active segment once its oldest record is this old. */
  maxSegmentAgeMs: number;
  /** Above this many bytes on disk, new records are dropped (and counted), never blocking. */
  maxTotalBytes: number;
}

export interface SpoolStats {
  segments: number;
  bytes: number;
  appended: number;
  dropped: number;
  /** Age in ms of the oldest record not yet in ClickHouse (0 when empty). */
  oldestAgeMs: number;
}

interface Waiter {
  resolve(durable: boolean): void;
}

interface Segment {
  seq: number;
  file: string;
  bytes: number;
  /** When its first record was appended (or the file's mtime after a restart). */
  firstAt: number;
}

const segmentPattern = /^(\d{12})\.jsonl$/;

export class Spool {
  readonly id: string;
  private sealed: Segment[] = [];
  private active: Segment & { fd: number | undefined };
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private syncing = false;
  private ioChain: Promise<void> = Promise.resolve();
  private appended = 0;
  private dropped = 0;
  private closed = false;

  private constructor(
    private readonly opts: SpoolOptions,
    id: string,
    sealed: Segment[],
    nextSeq: number,
  ) {
    this.id = id;
    this.sealed = sealed;
    this.active = { seq: nextSeq, file: segmentPath(opts.dir, nextSeq), bytes: 0, firstAt: 0, fd: undefined };
  }

  /** Opens (or creates) the spool; every segment left by a previous run becomes sealed, ready to replay. */
  static open(opts: SpoolOptions): Spool {
    fs.mkdirSync(opts.dir, { recursive: true });
    const idFile = path.join(opts.dir, 'spool-id');
    // The id scopes dedup tokens: a spool made anew (data directory wiped) never reuses a token.
    if (!fs.existsSync(idFile)) fs.writeFileSync(idFile, randomBytes(8).toString('hex'));
    const id = fs.readFileSync(idFile, 'utf8').trim();
    const sealed: Segment[] = [];
    for (const name of fs.readdirSync(opts.dir).sort()) {
      const m = segmentPattern.exec(name);
      if (!m) continue;
      const file = path.join(opts.dir, name);
      const bytes = trimTornTail(file);
      if (bytes === 0) {
        fs.rmSync(file);
        continue;
      }
      sealed.push({ seq: Number(m[1]), file, bytes, firstAt: fs.statSync(file).mtimeMs });
    }
    const nextSeq = (sealed.at(-1)?.seq ?? 0) + 1;
    return new Spool(opts, id, sealed, nextSeq);
  }

  /**
   * Appends one record (a complete line ending in \n). Resolves true once it is on disk,
   * false when it could not be kept (disk limit reached or a write error): the caller goes on
   * (a visitor is redirected all the same) and the loss is counted.
   */
  append(line: Buffer): Promise<boolean> {
    if (this.closed || this.totalBytes() + this.pendingBytes() + line.length > this.opts.maxTotalBytes) {
      this.dropped++;
      return Promise.resolve(false);
    }
    this.pending.push(line);
    const done = new Promise<boolean>((resolve) => this.waiters.push({ resolve }));
    this.scheduleWrite();
    return done;
  }

  /** Segments ready to insert, oldest first. Seals the active one when it is old or large enough. */
  async takeReady(options: { now?: number; force?: boolean } = {}): Promise<readonly Segment[]> {
    const a = this.active;
    const now = options.now ?? Date.now();
    if (a.bytes > 0 && (options.force || now - a.firstAt >= this.opts.maxSegmentAgeMs || a.bytes >= this.opts.maxSegmentBytes)) {
      await this.runIo(async () => this.sealActive());
    }
    return [...this.sealed];
  }

  /** Dedup token of a segment: the same for every replay of it. */
  tokenOf(segment: Segment): string {
    return `${this.id}-${segment.seq}`;
  }

  read(segment: Segment): Promise<Buffer> {
    return fs.promises.readFile(segment.file);
  }

  /** Called once ClickHouse acknowledged the segment. */
  async remove(segment: Segment): Promise<void> {
    await fs.promises.rm(segment.file, { force: true });
    this.sealed = this.sealed.filter((s) => s !== segment);
  }

  /** Moves a segment ClickHouse refuses (not unavailable: refused) aside, for an operator to look at. */
  async quarantine(segment: Segment): Promise<string> {
    const dir = path.join(this.opts.dir, 'rejected');
    await fs.promises.mkdir(dir, { recursive: true });
    const target = path.join(dir, `${this.id}-${path.basename(segment.file)}`);
    await fs.promises.rename(segment.file, target);
    this.sealed = this.sealed.filter((s) => s !== segment);
    return target;
  }

  stats(now: number = Date.now()): SpoolStats {
    const oldest = this.sealed[0]?.firstAt ?? (this.active.bytes > 0 ? this.active.firstAt : undefined);
    return {
      segments: this.sealed.length + (this.active.bytes > 0 ? 1 : 0),
      bytes: this.totalBytes(),
      appended: this.appended,
      dropped: this.dropped,
      oldestAgeMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
    };
  }

  /** Waits for pending appends, then closes the active file (it is replayed on the next start). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.pending.length > 0 || this.syncing) await this.runIo(() => this.writeBatch());
    await this.runIo(async () => {
      if (this.active.fd !== undefined) fs.closeSync(this.active.fd);
      this.active.fd = undefined;
    });
  }

  private totalBytes(): number {
    return this.sealed.reduce((sum, s) => sum + s.bytes, 0) + this.active.bytes;
  }

  private pendingBytes(): number {
    return this.pending.reduce((sum, b) => sum + b.length, 0);
  }

  /** File operations run one at a time: a seal never cuts a write in two. */
  private runIo(op: () => Promise<void>): Promise<void> {
    const next = this.ioChain.then(op);
    this.ioChain = next.catch(() => undefined);
    return next;
  }

  /** Group commit: appends of this event-loop turn, and those that come while a sync runs, share one. */
  private scheduleWrite(): void {
    if (this.syncing) return;
    this.syncing = true;
    setImmediate(() => void this.runIo(() => this.writeBatch()));
  }

  /** Writes and syncs one batch; one at a time on the I/O chain, so a seal can run between two. */
  private async writeBatch(): Promise<void> {
    const batch = Buffer.concat(this.pending);
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    const a = this.active;
    let durable = true;
    if (batch.length > 0) {
      try {
        if (a.fd === undefined) a.fd = await openAppend(a.file);
        await writeAll(a.fd, batch);
        await new Promise<void>((resolve, reject) => fs.fdatasync(a.fd!, (err) => (err ? reject(err) : resolve())));
        if (a.bytes === 0) a.firstAt = Date.now();
        a.bytes += batch.length;
        this.appended += waiters.length;
      } catch {
        durable = false;
        this.dropped += waiters.length;
        // Cut off whatever part of the batch did reach the file, so the segment stays whole lines.
        if (a.fd !== undefined) {
          try {
            fs.ftruncateSync(a.fd, a.bytes);
          } catch {
            // the file is unusable; the next write reports the same failure
          }
        }
      }
    }
    for (const w of waiters) w.resolve(durable);
    if (this.active.bytes >= this.opts.maxSegmentBytes) this.sealActive();
    this.syncing = false;
    if (this.pending.length > 0) this.scheduleWrite();
  }

  private sealActive(): void {
    const a = this.active;
    if (a.bytes === 0) return;
    if (a.fd !== undefined) fs.closeSync(a.fd);
    this.sealed.push({ seq: a.seq, file: a.file, bytes: a.bytes, firstAt: a.firstAt });
    const seq = a.seq + 1;
    this.active = { seq, file: segmentPath(this.opts.dir, seq), bytes: 0, firstAt: 0, fd: undefined };
  }
}

function segmentPath(dir: string, seq: number): string {
  return path.join(dir, `${String(seq).padStart(12, '0')}.jsonl`);
}

function openAppend(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, 'a', (err, fd) => (err ? reject(err) : resolve(fd))));
}

async function writeAll(fd: number, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    offset += await new Promise<number>((resolve, reject) =>
      fs.write(fd, data, offset, data.length - offset, null, (err, written) => (err ? reject(err) : resolve(written))),
    );
  }
}

/** A crash can leave half a line at the end of the last segment: cut back to the last newline. */
function trimTornTail(file: string): number {
  const size = fs.statSync(file).size;
  if (size === 0) return 0;
  const fd = fs.openSync(file, 'r+');
  try {
    const tailSize = Math.min(size, 1 << 20);
    const tail = Buffer.alloc(tailSize);
    fs.readSync(fd, tail, 0, tailSize, size - tailSize);
    const lastNewline = tail.lastIndexOf(0x0a);
    const keep = lastNewline === -1 ? (size > tailSize ? size : 0) : size - tailSize + lastNewline + 1;
    if (keep < size) {
      fs.ftruncateSync(fd, keep);
      fs.fsyncSync(fd);
    }
    return keep;
  } finally {
    fs.closeSync(fd);
  }
}
