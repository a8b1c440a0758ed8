import fp from 'fastify-plugin';
import { ClickIdGenerator, clickIdMs } from '../../core/click-id.js';
import type { Config } from '../../core/config.js';
import { StartupError, type KeyrevError } from '../../core/errors.js';
import { resolveSecret } from '../../core/generated-secret.js';
import { findConversionStates, loadConversionStates } from '../../warehouse/conversion-store.js';
import { firstLine } from '../../warehouse/warehouse.js';
import { ConversionLedger, conversionKey } from './conversion-ledger.js';
import { ConversionLookups } from './conversion-lookups.js';
import { networkRoute } from './network-route.js';
import { network } from './network-schema.js';
import { Networks } from './networks.js';
import { createPostbackAccess } from './postback-auth.js';
import { postbackBulkRoute } from './postback-bulk-route.js';
import { PostbackIngest } from './postback-ingest.js';
import { PostbackLog } from './postback-log.js';
import { postbackLogRoute } from './postback-log-route.js';
import { postbackRoute } from './postback-route.js';
import { postbackColumns } from './postback-row.js';

export type PostbacksOptions = Pick<Config, 'nodeId' | 'dataDir' | 'postbackSecret' | 'bulkMaxBytes' | 'bulkMaxSeconds' | 'ledgerMaxConversions'>;

/** Whether postbacks need the global secret, and the secret itself when this start generated it. */
export interface PostbackSecretState {
  /** `required` unless KEYREV_POSTBACK_SECRET=off. */
  mode: 'required' | 'off';
  /** Set only when this start generated the secret: start-up prints it (and the URL) once. */
  generated?: { secret: string; file: string };
}

declare module 'fastify' {
  interface FastifyInstance {
    postbackSecret: PostbackSecretState;
  }
}

/**
 * The postback path: single and bulk postbacks, network settings, the ledger that decides each
 * postback before it is acknowledged, and the `conversion` event once it is durable.
 */
export const postbacksPlugin = fp<PostbacksOptions>(
  async (app, config) => {
    const { warehouse, metrics } = app;
    const networkStore = await app.settings.open('networks', network);
    const postbacks = app.pipelines.open({ table: 'postbacks', columns: postbackColumns });
    app.addHook('onClose', () => postbacks.close());

    // Postbacks are decided against the conversions as they stand: first what a previous run left
    // in the spool goes into ClickHouse, then the ledger is loaded from it.
    await postbacks.flusher.drain().catch((err: unknown) => {
      // ClickHouse away or failing at start is an operator's matter: one line, no stack trace.
      throw new StartupError(`the postback spool could not be replayed into ClickHouse: ${firstLine((err as Error).message)}`, { cause: err });
    });
    const ledger = new ConversionLedger(app.rates, {
      maxEntries: config.ledgerMaxConversions,
      // The spool counts a record from its append, made in the same turn as its decision; the
      // seconds of margin only cover the postback ids' clock.
      unflushedSince: () => Date.now() - Math.max(postbacks.spool.stats().oldestAgeMs, 5_000),
    });
    metrics.observeLedger(ledger);
    const loaded = await loadConversionStates(warehouse, config.ledgerMaxConversions, (clickId, type, txid, state) =>
      ledger.load(conversionKey(clickId, type, txid), state, clickIdMs(clickId)),
    );
    // Only the newest conversions were loaded: older clicks' keys are looked up when they come.
    if (loaded.truncated && loaded.oldestClickId !== undefined) ledger.forgetBefore(clickIdMs(loaded.oldestClickId) + 1);

    const log = new PostbackLog();
    const refused = (r: KeyrevError, slug: string, ip: string, source: string) => {
      const reason = r.reason ?? r.code;
      log.add({ kind: 'refused', reason, message: r.message, network: slug, ip, source });
      metrics.postbackRefusals.inc({ reason });
      return r;
    };
    // Secure by default: unset, the secret is generated into the data directory on first start
    // (resolved here, not in main.ts, so that every app, a test's too, is built the same way).
    const secret =
      config.postbackSecret === false
        ? undefined
        : resolveSecret(config.postbackSecret, config.dataDir, { file: 'postback.secret', prefix: 'krp_', variable: 'KEYREV_POSTBACK_SECRET' });
    app.decorate('postbackSecret', {
      mode: secret ? 'required' : 'off',
      ...(secret?.generatedAt ? { generated: { secret: secret.value, file: secret.generatedAt } } : {}),
    } satisfies PostbackSecretState);
    const access = createPostbackAccess({ findNetwork: (slug) => networkStore.get(slug), globalSecret: secret?.value, refused });
    const ingest = new PostbackIngest({
      ids: new ClickIdGenerator(config.nodeId),
      ledger,
      lookups: new ConversionLookups(ledger, (clickIds) => findConversionStates(warehouse, clickIds), () => metrics.ledgerLookups.inc()),
      platformClicks: app.platformClicks,
      rates: app.rates,
      spool: postbacks.spool,
      log,
      metrics,
      events: app.events,
      refused,
    });
    const bulk = { acceptMany: ingest.acceptMany.bind(ingest), keepPace: (bytes: number) => postbacks.flusher.keepPace(bytes) };

    await app.register(postbackRoute, { ingest, access });
    await app.register(postbackBulkRoute, { ingest: bulk, access, auth: app.auth, maxBytes: config.bulkMaxBytes, maxSeconds: config.bulkMaxSeconds });
    await app.register(networkRoute, { networks: new Networks(networkStore), auth: app.auth });
    await app.register(postbackLogRoute, { log, auth: app.auth });
  },
  { name: 'keyrev-postbacks', dependencies: ['keyrev-platform', 'keyrev-admin', 'keyrev-spool', 'keyrev-clicks'] },
);
