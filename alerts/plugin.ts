import fp from 'fastify-plugin';
import { conversionSumSql } from '../analytics/index.js';
import type { Config } from '../core/config.js';
import { createOutboundClient } from '../core/outbound-http.js';
import { hasTable, type ConversionSumsSql } from '../warehouse/alert-store.js';
import { alertRoute } from './alert-route.js';
import { AlertChecker } from './checker.js';
import { channelRoute } from './channel-route.js';
import { channel } from './channel-schema.js';
import { createChannelSender } from './channel-senders.js';
import { Channels } from './channels.js';
import { dashboardLink, testMessage } from './message.js';
import { PostbackRates } from './postback-rates.js';
import { rule } from './rule-schema.js';
import { ruleRoute } from './rule-route.js';
import { Rules } from './rules.js';

export type AlertsOptions = Pick<Config, 'alertCheckMs' | 'smtpUrl' | 'outboundAllow' | 'publicUrl'>;

/** The reports' own definitions of a paid conversion, a conversion and revenue (analytics/report-metrics.ts). */
const sums: ConversionSumsSql = {
  paid: (row) => `(${conversionSumSql('sales', row)} + ${conversionSumSql('rebills', row)})`,
  conversions: (row) => `(${conversionSumSql('leads', row)} + ${conversionSumSql('sales', row)} + ${conversionSumSql('rebills', row)})`,
  revenue: (row) => conversionSumSql('revenue', { ...row, revenue: 'revenue' }),
};

/** A failed delivery is tried again after these waits (three attempts in all). */
const retryDelaysMs = [1_000, 5_000];

/**
 * Alerts: channels, rules, the check job (a cluster job: one process sends) and the history.
 */
export const alertsPlugin = fp<AlertsOptions>(
  async (app, config) => {
    const { warehouse, auth, metrics } = app;
    const [channelStore, ruleStore] = await Promise.all([app.settings.open('alert_channels', channel), app.settings.open('alert_rules', rule)]);
    const outbound = createOutboundClient({ allow: config.outboundAllow });
    const sender = createChannelSender({ outbound, smtpUrl: config.smtpUrl });
    app.addHook('onClose', async () => sender.close());

    const rules: Rules = new Rules(ruleStore, { channel: (id) => channelStore.get(id) !== undefined, campaign: (id) => app.campaigns.find(id) !== undefined });
    const channels = new Channels(channelStore, outbound, config.smtpUrl !== undefined, (id) => rules.usingChannel(id));
    const checker = new AlertChecker({
      warehouse,
      rules: () => rules.list(),
      channel: (id) => channelStore.get(id),
      campaignName: (id) => app.campaigns.find(id)?.name,
      sender,
      sums,
      postbackRates: new PostbackRates(metrics),
      metrics,
      // The outbound module's attempts, when this build has it, count in postback_failures.
      outgoingRecorded: await hasTable(warehouse, 'outbound_attempts'),
      retryDelaysMs,
      publicUrl: config.publicUrl,
    });
    app.jobs.add({ name: 'alert-check', scope: 'cluster', everyMs: config.alertCheckMs, run: () => checker.check() });

    const test = async (c: Parameters<typeof sender.send>[0]) => {
      const outcome = await sender.send(c, testMessage(c.name || c.id, Date.now(), dashboardLink(config.publicUrl, undefined)));
      metrics.alertDeliveries.inc({ type: c.type, result: outcome.ok ? 'ok' : 'failed' });
      return { ...outcome, attempts: 1 };
    };
    await app.register(channelRoute, { channels, auth, test });
    await app.register(ruleRoute, { rules, auth });
    await app.register(alertRoute, { warehouse, auth });
  },
  { name: 'keyrev-alerts', dependencies: ['keyrev-platform', 'keyrev-admin', 'keyrev-postbacks'] },
);
