/**
 * Row versions of ReplacingMergeTree tables, where the row with the highest version of a key wins.
 *
 * - clockVersion(): for a document written whole by whoever writes last (settings, the outbox
 *   cursor): microseconds of this process's clock, never repeating within the process.
 * - successorVersion(stored): for a row whose new state is made from the state read (a delivery,
 *   an incident): one above the version it was made from, whatever the clocks of the processes
 *   say, so that a state written after another it has seen always replaces it.
 */
let lastVersion = 0n;

export function clockVersion(): bigint {
  const now = BigInt(Date.now()) * 1000n;
  lastVersion = now > lastVersion ? now : lastVersion + 1n;
  return lastVersion;
}

/** The version of a state made from one read at `stored` (a UInt64 as text or a bigint). */
export function successorVersion(stored: string | bigint): string {
  return (BigInt(stored) + 1n).toString();
}
