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
