import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort, repoRoot } from '../test/helpers/process.js';

export { freePort };

/**
 * Starts a TypeScript entry in its own process (through tsx), as `npm start` does; a bench client
 * that talks back through stdin and stdout asks for pipes.
 */
export function startProcess(
  entry: string,
  env: Record<string, string>,
  opts: { args?: string[]; pipes?: boolean } = {},
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry, ...(opts.args ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, KEYREV_LOG_LEVEL: 'warn', UV_THREADPOOL_SIZE: '16', ...env },
    stdio: opts.pipes ? ['pipe', 'pipe', 'inherit'] : ['ignore', 'inherit', 'inherit'],
  });
}

export async function waitForOk(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { redirect: 'manual' });
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx3xx: number;
  errors: number;
}

/** One autocannon run: the same client and settings for the product and its baseline. */
export async function load(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  const ok3xx = r['3xx'] ?? 0;
  return {
    requestsPerSec: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx3xx: r.non2xx - ok3xx,
    errors: r.errors + r.timeouts,
  };
}

/** Prints a table and writes the results next to the bench, for the notes. */
export function report(name: string, rows: Record<string, string | number>[]): void {
  console.table(rows);
  const dir = path.join(repoRoot, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ at: new Date().toISOString(), rows }, null, 2));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
