export interface PostbackLogEntry {
  at: string;
  /** refused: answered 4xx and nothing stored; warning: accepted, but something needs the operator. */
  kind: 'refused' | 'warning';
  /** A refusal's reason (`bad_secret`, `missing_click_id`...) or a warning's (`no_rate`). */
  reason: string;
  message: string;
  network: string;
  ip: string;
  /** Where it came from: the query string, or `/postbacks` and the line number. */
  source: string;
}

/**
 * The last refusals and warnings of this process, for the operator to read through the API
 * (/api/postbacks/log) when a network says its postbacks "do not arrive". Bounded: a flood of
 * bad postbacks cannot fill memory or disk; /metrics counts every one of them.
 */
export class PostbackLog {
  private readonly entries: PostbackLogEntry[] = [];
  private next = 0;

  constructor(private readonly capacity = 1000) {}

  add(entry: Omit<PostbackLogEntry, 'at'>): void {
    const full = { ...entry, at: new Date().toISOString(), source: entry.source.slice(0, 300) };
    if (this.entries.length < this.capacity) this.entries.push(full);
    else this.entries[this.next] = full;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  recent(limit: number): PostbackLogEntry[] {
    const ordered = [...this.entries.slice(this.next), ...this.entries.slice(0, this.next)];
    return ordered.reverse().slice(0, limit);
  }
}

/**
 * One bulk stream's share of the log: its first `limit` entries (refusals and warnings), then one
 * entry saying the rest were left out. Without it a single stream of bad lines would push every
 * other network's refusals out of the log; /metrics still counts each one.
 */
export class LogShare {
  private taken = 0;

  constructor(readonly limit: number) {}

  /** Whether one more entry of the stream goes to the log; the first one past the limit writes the summary instead. */
  admit(log: PostbackLog, network: string, ip: string, source: string): boolean {
    this.taken++;
    if (this.taken <= this.limit) return true;
    if (this.taken === this.limit + 1) {
      log.add({
        kind: 'warning',
        reason: 'too_many_entries',
        message: `more than ${this.limit} entries from one bulk stream: the rest are not listed here (/metrics counts them, the stream's answer lists its rejected lines)`,
        network,
        ip,
        source,
      });
    }
    return false;
  }
}
