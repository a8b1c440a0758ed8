import fp from 'fastify-plugin';
import type { Config } from '../core/config.js';
import { createOutboundClient } from '../core/outbound-http.js';
import { deliveryRoute } from './delivery-route.js';
import { Outbox, defaultTuning, type OutboxTuning } from './outbox.js';
import { Replays } from './replays.js';
import { ruleRoute } from './rule-route.js';
import { rule } from './rule-schema.js';
import { PostbackRules } from './rules.js';

export type OutboundOptions = Pick<Config, 'outboundAllow' | 'clusterJobs' | 'flushIntervalMs'>;

/** What tests and benches reach: the outbox, its tuning (retry schedule, timeout), a run now. */
export interface OutboundHandle {
  outbox: Outbox;
  tuning: OutboxTuning;
  run(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    outbound: OutboundHandle;
  }
}

const jobName = 'outbound-deliveries';
/** While postbacks come in, the queue is read this often, so a conversion reaches its receiver within a second or so of landing in ClickHouse. */
const pollMs = 100;
/** Postback outcomes that write a conversion state (and so a queue row). */
const writesState = new Set(['new', 'transition', 'update', 'add']);

/**
 * Outgoing postbacks: rules, the durable outbox the cluster job drains, the delivery log and
 * replays. Ingest never waits on any of it: the conversion event only makes the job look sooner.
 */
export const outboundPlugin = fp<OutboundOptions>(
  async (app, config) => {
    const client = createOutboundClient({ allow: config.outboundAllow });
    const store = await app.settings.open('postback_rules', rule);
    const rules = new PostbackRules({ store, guard: client, campaignExists: (id) => app.campaigns.find(id) !== undefined });
    const tuning: OutboxTuning = { ...defaultTuning };
    const outbox = new Outbox({ wh: app.warehouse, rules: () => rules.all(), client, metrics: app.metrics, log: app.log, tuning, sends: config.clusterJobs });
    const replays = new Replays(app.warehouse, outbox, rules, tuning);
    app.jobs.add({ name: jobName, scope: 'cluster', everyMs: 1_000, run: () => outbox.run() });

    // A postback's row reaches ClickHouse within the flush interval: until a few of those have
    // passed since the last one, the job looks every pollMs instead of every second.
    let fastUntil = 0;
    let poll: NodeJS.Timeout | undefined;
    let closing = false;
    const schedulePoll = () => {
      poll = setTimeout(() => {
        void app.jobs.runNow(jobName).finally(() => {
          poll = undefined;
          if (!closing && Date.now() < fastUntil) schedulePoll();
        });
      }, pollMs);
      poll.unref();
    };
    if (config.clusterJobs) {
      app.events.on('conversion', (e) => {
        if (!writesState.has(e.outcome) || !rules.all().some((r) => r.enabled)) return;
        fastUntil = Date.now() + 3 * config.flushIntervalMs + 2_000;
        if (!poll && !closing) schedulePoll();
      });
    }
    app.addHook('preClose', () => {
      closing = true;
      clearTimeout(poll);
    });
    app.addHook('onClose', async () => {
      await outbox.close();
      client.close();
    });
    app.decorate('outbound', { outbox, tuning, run: () => outbox.run() } satisfies OutboundHandle);

    await app.register(ruleRoute, { rules, replays, auth: app.auth });
    await app.register(deliveryRoute, { wh: app.warehouse, replays, auth: app.auth });
  },
  { name: 'keyrev-outbound', dependencies: ['keyrev-platform', 'keyrev-admin', 'keyrev-postbacks'] },
);
