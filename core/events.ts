import type { ConversionEvent } from './conversion.js';

/**
 * A small typed publish/subscribe bus between modules (the postbacks module publishes
 * conversions; outgoing postbacks and alerts subscribe). A subscriber's failure, thrown or
 * rejected, is reported to `onError` and never reaches the publisher: ingest has already
 * acknowledged what it publishes.
 */
export class EventBus<Events extends { [K in keyof Events]: object }> {
  private readonly subscribers = new Map<keyof Events, Set<(event: never) => unknown>>();

  constructor(private readonly onError: (err: unknown, name: keyof Events) => void) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof Events>(name: K, subscriber: (event: Events[K]) => unknown): () => void {
    let set = this.subscribers.get(name);
    if (!set) this.subscribers.set(name, (set = new Set()));
    set.add(subscriber as (event: never) => unknown);
    return () => set.delete(subscriber as (event: never) => unknown);
  }

  /** Whether anyone listens: a publisher on a hot path builds the event only then. */
  has(name: keyof Events): boolean {
    return (this.subscribers.get(name)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const set = this.subscribers.get(name);
    if (!set) return;
    for (const subscriber of set) {
      try {
        const result = (subscriber as (event: Events[K]) => unknown)(event);
        if (result instanceof Promise) result.catch((err: unknown) => this.onError(err, name));
      } catch (err) {
        this.onError(err, name);
      }
    }
  }
}

/** The events modules publish, by name. */
export type KeyrevEvents = {
  /** A postback was durably recorded and decided (see ConversionEvent). */
  conversion: ConversionEvent;
};

declare module 'fastify' {
  interface FastifyInstance {
    events: EventBus<KeyrevEvents>;
  }
}
