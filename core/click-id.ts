/**
 * Click ids: 64-bit integers that sort by time, so that ClickHouse finds a click by id in the
 * part of the table written around that time (clicks are ORDER BY click_id).
 * Layout (a snowflake): 41 bits of milliseconds since 2024-01-01, 10 bits of node id
 * (KEYREV_NODE_ID, 0-1023), 12 bits of sequence within the millisecond.
 */
export const clickIdEpochMs = Date.UTC(2024, 0, 1);
const nodeBits = 10n;
const sequenceBits = 12n;
const maxSequence = (1 << Number(sequenceBits)) - 1;

export class ClickIdGenerator {
  private lastMs = 0;
  private sequence = 0;
  private readonly node: bigint;

  constructor(nodeId: number) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > 1023) throw new RangeError('node id must be 0-1023');
    this.node = BigInt(nodeId);
  }

  /** A new id; never repeats and never goes down, even if the clock steps back. */
  next(nowMs: number = Date.now()): { id: bigint; ms: number } {
    if (nowMs > this.lastMs) {
      this.lastMs = nowMs;
      this.sequence = 0;
    } else if (this.sequence < maxSequence) {
      this.sequence++;
    } else {
      // 4,096 ids in one millisecond: borrow the next one rather than wait or repeat.
      this.lastMs++;
      this.sequence = 0;
    }
    const id = (BigInt(this.lastMs - clickIdEpochMs) << (nodeBits + sequenceBits)) | (this.node << sequenceBits) | BigInt(this.sequence);
    return { id, ms: this.lastMs };
  }
}

/** The parts of an id, e.g. to turn a time range into an id range. */
export function decodeClickId(id: bigint): { ms: number; node: number; sequence: number } {
  return {
    ms: clickIdMs(id),
    node: Number((id >> sequenceBits) & ((1n << nodeBits) - 1n)),
    sequence: Number(id & BigInt(maxSequence)),
  };
}

/** When the id was made (ms since 1970): the part of decodeClickId that hot paths need. */
export function clickIdMs(id: bigint): number {
  return Number(id >> (nodeBits + sequenceBits)) + clickIdEpochMs;
}

const decimalId = /^[1-9][0-9]{0,19}$/;

/** Parses a decimal click id as sent back by a network; undefined when it cannot be one. */
export function parseClickId(text: string): bigint | undefined {
  if (!decimalId.test(text)) return undefined;
  const id = BigInt(text);
  return id < 1n << 63n ? id : undefined;
}
