import { describe, expect, it } from 'vitest';
import { EventBus } from '../../core/events.js';

type Events = { ping: { n: number }; other: { s: string } };

describe('EventBus', () => {
  it('delivers to every subscriber of a name, isolates failures, and unsubscribes', async () => {
    const errors: string[] = [];
    const bus = new EventBus<Events>((err, name) => errors.push(`${String(name)}: ${(err as Error).message}`));
    const got: number[] = [];
    expect(bus.has('ping')).toBe(false);
    const off = bus.on('ping', (e) => {
      got.push(e.n);
    });
    bus.on('ping', () => {
      throw new Error('sync');
    });
    bus.on('ping', async () => {
      throw new Error('async');
    });
    expect(bus.has('ping')).toBe(true);
    expect(bus.has('other')).toBe(false);
    bus.emit('ping', { n: 1 });
    bus.emit('other', { s: 'nobody listens' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toEqual([1]);
    expect(errors).toEqual(['ping: sync', 'ping: async']);
    off();
    bus.emit('ping', { n: 2 });
    expect(got).toEqual([1]);
  });
});
