import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Spool, type SpoolOptions } from '../../../ingest/spool/spool.js';
import { tempDir } from '../../helpers/temp.js';

const line = (i: number) => `{"i":${i}}\n`;

/** The spool options of these tests, in a directory a test may open twice (as a restart does). */
const optionsIn = (dir: string): SpoolOptions => ({ dir, maxSegmentBytes: 1 << 20, maxSegmentAgeMs: 60_000, maxTotalBytes: 1 << 30 });

function open(overrides: Partial<SpoolOptions> = {}): Spool {
  return Spool.open({ ...optionsIn(tempDir('keyrev-spool-')), ...overrides });
}

async function readAll(spool: Spool): Promise<string> {
  const parts = await Promise.all((await spool.takeReady({ force: true })).map((s) => spool.read(s)));
  return Buffer.concat(parts).toString();
}

describe('durable spool', () => {
  it('acknowledges appends only once they are in a segment file, in order, in shared syncs', async () => {
    const spool = open();
    const acks = await Promise.all(Array.from({ length: 2_000 }, (_, i) => spool.append(line(i))));
    expect(acks.every(Boolean)).toBe(true);
    const text = await readAll(spool);
    expect(text.trimEnd().split('\n').map((l) => JSON.parse(l).i)).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
    expect(spool.stats()).toMatchObject({ appended: 2_000, dropped: 0 });
  });

  it('seals the active segment by age and by size', async () => {
    const spool = open({ maxSegmentAgeMs: 1_000, maxSegmentBytes: 100 });
    await spool.append(line(1));
    expect(await spool.takeReady({ now: Date.now() })).toHaveLength(0);
    expect(await spool.takeReady({ now: Date.now() + 1_000 })).toHaveLength(1);
    for (let i = 0; i < 20; i++) await spool.append(line(i)); // 10 bytes each: a seal every 100 bytes
    expect((await spool.takeReady()).length).toBeGreaterThanOrEqual(2);
  });

  it('replays every sealed and active segment after a restart, with the same tokens', async () => {
    const dir = tempDir('keyrev-spool-');
    const opts = optionsIn(dir);
    const first = Spool.open(opts);
    await first.append(line(1));
    const [sealed] = await first.takeReady({ force: true });
    const token = first.tokenOf(sealed!);
    await first.append(line(2));
    // no close(): as after a crash
    const second = Spool.open(opts);
    const ready = await second.takeReady();
    expect(ready).toHaveLength(2);
    expect(second.tokenOf(ready[0]!)).toBe(token);
    expect(Buffer.concat(await Promise.all(ready.map((s) => second.read(s)))).toString()).toBe('{"i":1}\n{"i":2}\n');
    await second.append(line(3));
    const all = await second.takeReady({ force: true });
    expect(all.map((s) => second.tokenOf(s))).toEqual([...new Set(all.map((s) => second.tokenOf(s)))]);
    expect(all).toHaveLength(3);
  });

  it('cuts a half-written last line left by a crash', async () => {
    const dir = tempDir('keyrev-spool-');
    fs.writeFileSync(path.join(dir, '000000000007.jsonl'), '{"i":1}\n{"i":2}\n{"i":');
    const spool = Spool.open(optionsIn(dir));
    const [segment] = await spool.takeReady();
    expect((await spool.read(segment!)).toString()).toBe('{"i":1}\n{"i":2}\n');
    await spool.append(line(3));
    const all = await spool.takeReady({ force: true });
    // Segments left by an older keyrev (12-digit names) replay first; new ones number from the clock.
    expect(all.map((s) => path.basename(s.file))[0]).toBe('000000000007.jsonl');
    expect(Number(path.basename(all[1]!.file, '.jsonl'))).toBeGreaterThan(7);
  });

  it('lays zeros out ahead of the records, cuts them when it seals, and after a crash cuts a segment at its first zero', async () => {
    const dir = tempDir('keyrev-spool-');
    const opts = optionsIn(dir);
    const first = Spool.open(opts);
    await first.append(line(1));
    const [sealed] = await first.takeReady({ force: true });
    expect(fs.readFileSync(sealed!.file, 'utf8')).toBe(line(1));
    await first.append(line(2));
    const active = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl') && path.join(dir, f) !== sealed!.file);
    const activeFile = path.join(dir, active[0]!);
    expect(fs.statSync(activeFile).size).toBe(64 * 1024);
    // As if a crash let a later page reach the disk but not the one before it: the hole ends the records.
    const fd = fs.openSync(activeFile, 'r+');
    fs.writeSync(fd, line(4), 8 * 1024);
    fs.closeSync(fd);
    const second = Spool.open(opts);
    const ready = await second.takeReady();
    expect(Buffer.concat(await Promise.all(ready.map((s) => second.read(s)))).toString()).toBe(line(1) + line(2));
    expect(fs.statSync(activeFile).size).toBe(line(2).length);
    await second.close();
  });

  it('never gives a new segment the dedup token of a shipped one, also after a restart that found the spool empty', async () => {
    const dir = tempDir('keyrev-spool-');
    const opts = optionsIn(dir);
    const tokens = new Set<string>();
    for (let run = 0; run < 3; run++) {
      const spool = Spool.open(opts);
      // Faster than one segment a millisecond: the numbers run ahead of the clock.
      for (let i = 0; i < 100; i++) {
        await spool.append(line(i));
        const [segment] = await spool.takeReady({ force: true });
        tokens.add(spool.tokenOf(segment!));
        await spool.remove(segment!);
      }
      await spool.close();
    }
    expect(tokens.size).toBe(300);
  });

  it('drops and counts records past the disk limit instead of blocking', async () => {
    const spool = open({ maxTotalBytes: 20 }); // 8 bytes a line: room for two
    const acks = [];
    for (let i = 0; i < 4; i++) acks.push(await spool.append(line(i)));
    expect(acks).toEqual([true, true, false, false]);
    expect(spool.stats()).toMatchObject({ appended: 2, dropped: 2 });
  });

  it('counts a record waiting for its write as not in ClickHouse yet', async () => {
    const spool = open();
    const written = spool.append(line(1));
    // Appended this turn, not written before the next: already the oldest record to ship.
    expect(spool.stats(Date.now() + 1_000).oldestAgeMs).toBeGreaterThanOrEqual(1_000);
    await written;
    expect(spool.stats(Date.now() + 1_000).oldestAgeMs).toBeGreaterThanOrEqual(1_000);
  });

  it('forgets a segment once removed and sets the refused lines of one aside, with their reasons', async () => {
    const spool = open();
    await spool.append(line(1));
    const [a] = await spool.takeReady({ force: true });
    await spool.append(line(2) + line(3));
    const [, b] = await spool.takeReady({ force: true });
    await spool.remove(a!);
    expect(fs.existsSync(a!.file)).toBe(false);
    const kept = await spool.quarantine(b!, { lines: Buffer.from(line(3)), reasons: 'line 2 of 2: no\n' });
    expect(path.dirname(kept)).toBe(path.join(path.dirname(b!.file), 'rejected'));
    expect(fs.readFileSync(kept, 'utf8')).toBe('{"i":3}\n');
    expect(fs.readFileSync(kept.replace(/\.jsonl$/, '.error'), 'utf8')).toBe('line 2 of 2: no\n');
    expect(fs.existsSync(b!.file)).toBe(false);
    expect(spool.stats()).toMatchObject({ segments: 0, bytes: 0, oldestAgeMs: 0 });
  });

  it('keeps the ranges ClickHouse refused across a restart, and drops them with their segment', async () => {
    const dir = tempDir('keyrev-spool-');
    const first = Spool.open(optionsIn(dir));
    await first.append(line(1) + line(2));
    await first.append(line(3));
    const [segment] = await first.takeReady({ force: true });
    expect(await first.refusedRanges(segment!)).toEqual(new Set());
    await first.noteRefused(segment!, 0, 3);
    await first.noteRefused(segment!, 0, 2);
    // A crash while noting the next one: half a line, never synced, so nothing of it was sent.
    fs.appendFileSync(segment!.file.replace(/\.jsonl$/, '.refused'), '2-');

    const second = Spool.open(optionsIn(dir));
    const [replayed] = await second.takeReady({ force: true });
    expect(await second.refusedRanges(replayed!)).toEqual(new Set(['0-3', '0-2']));
    await second.remove(replayed!);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.refused'))).toEqual([]);
  });

  it('clears at start the refused ranges a crash left without their segment', async () => {
    const dir = tempDir('keyrev-spool-');
    fs.writeFileSync(path.join(dir, '0001700000000000.refused'), '0-2\n');
    Spool.open(optionsIn(dir));
    expect(fs.existsSync(path.join(dir, '0001700000000000.refused'))).toBe(false);
  });
});
