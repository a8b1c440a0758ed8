import { describe, expect, it } from 'vitest';
import { JobRunner } from '../../core/jobs.js';

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
};

describe('JobRunner', () => {
  it('runs jobs periodically without overlap, keeps going after a failure, and stops on stop()', async () => {
    const errors: string[] = [];
    const jobs = new JobRunner({ clusterJobs: true, onError: (job, err) => errors.push(`${job}: ${(err as Error).message}`) });
    let running = 0;
    let overlapped = false;
    let runs = 0;
    jobs.add({
      name: 'slow',
      scope: 'process',
      everyMs: 1,
      run: async () => {
        overlapped ||= running > 0;
        running++;
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        if (runs === 2) throw new Error('second run fails');
      },
    });
    jobs.start();
    await until(() => runs >= 4);
    await jobs.stop();
    const after = runs;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(runs).toBe(after);
    expect(overlapped).toBe(false);
    expect(errors).toEqual(['slow: second run fails']);
    expect(jobs.list()[0]).toMatchObject({ name: 'slow', enabled: true, failures: 1, lastError: undefined });
  });

  it('runs cluster jobs only where cluster jobs are on (KEYREV_JOBS), process jobs everywhere', async () => {
    const jobs = new JobRunner({ clusterJobs: false, onError: () => undefined });
    const ran: string[] = [];
    jobs.add({ name: 'alerts', scope: 'cluster', everyMs: 1, run: async () => void ran.push('alerts') });
    jobs.add({ name: 'refresh', scope: 'process', everyMs: 1, run: async () => void ran.push('refresh') });
    jobs.start();
    await until(() => ran.includes('refresh'));
    await jobs.stop();
    expect(ran).not.toContain('alerts');
    expect(jobs.list().map((j) => [j.name, j.enabled])).toEqual([
      ['alerts', false],
      ['refresh', true],
    ]);
    expect(() => jobs.add({ name: 'refresh', scope: 'process', everyMs: 1, run: async () => undefined })).toThrow(/twice/);
  });
});
