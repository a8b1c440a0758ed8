import { newObjectId } from '../core/ids.js';
import type { Metrics } from '../core/metrics.js';
import {
  deliveriesOf,
  firingIncidents,
  lastPaidConversionMs,
  outgoingAttempts,
  resolvedSince,
  ruleFigures,
  saveDeliveries,
  saveIncident,
  type ConversionSumsSql,
  type DeliveryRow,
  type IncidentRow,
} from '../warehouse/alert-store.js';
import { successorVersion } from '../warehouse/version.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { Channel } from './channel-schema.js';
import { deliver, type ChannelSender } from './channel-senders.js';
import { isActive, judge, scopeText, type Verdict } from './conditions.js';
import { alertMessage, dashboardLink, recoveryMessage, type AlertMessage, type IncidentFacts } from './message.js';
import type { PostbackRates } from './postback-rates.js';
import type { Rule } from './rule-schema.js';

/** How far back an alert's text looks for the scope's last sale. */
const lastSaleLookbackDays = 30;
const noFigures = { clicks: 0, paid: 0, conversions: 0, revenue: 0 };
/** How far back a check looks for a resolved incident whose recovery was never sent. */
const recoveryRepairMs = 86_400_000;

export interface CheckerOptions {
  warehouse: Warehouse;
  rules(): Rule[];
  channel(id: string): Channel | undefined;
  campaignName(id: string): string | undefined;
  sender: ChannelSender;
  sums: ConversionSumsSql;
  postbackRates: PostbackRates;
  metrics: Pick<Metrics, 'alerts' | 'alertDeliveries'>;
  /** Whether outgoing postback attempts are recorded (the outbound module's table exists). */
  outgoingRecorded: boolean;
  /** The waits between a failed delivery's attempts: its length is the number of retries. */
  retryDelaysMs: readonly number[];
  /** KEYREV_PUBLIC_URL: messages link to the dashboard's report when it is set. */
  publicUrl: string | undefined;
}

/**
 * One check of every rule: an incident opens (and its alert goes out) when a rule's condition
 * starts to hold, inside its active hours; it resolves (and its recovery goes out) when the
 * condition ends; nothing is sent in between. Incidents are kept in ClickHouse and read at each
 * check, so a restart, or another process taking over the checks, carries on where it was. An
 * incident is written before its alert is sent, and each check sends the alert of a firing
 * incident that has none recorded (and the recovery of a resolved one): an error or a crash in
 * between delays an alert, never loses it (a crash after a send and before its record sends it
 * again).
 */
export class AlertChecker {
  constructor(private readonly o: CheckerOptions) {}

  async check(now: Date = new Date()): Promise<void> {
    const { warehouse: wh } = this.o;
    const rules = this.o.rules().filter((r) => r.enabled);
    const byId = new Map(rules.map((r) => [r.id, r]));
    const firing = await firingIncidents(wh);
    const open = new Map(firing.map((i) => [i.ruleId, i]));
    const resolved = await resolvedSince(wh, new Date(now.getTime() - recoveryRepairMs));
    const sent = new Set((await deliveriesOf(wh, [...firing, ...resolved].map((i) => i.incidentId))).map((d) => `${d.incidentId}/${d.event}`));
    for (const incident of firing) {
      // Deleted or disabled while firing: closed without a message, nobody asked for one any more;
      // the recovery's row says so (and keeps a later check from sending it).
      if (byId.has(incident.ruleId)) continue;
      await saveIncident(wh, { ...incident, state: 'resolved', resolvedAt: now, figure: `${incident.figure}; closed: rule deleted or disabled`, version: successorVersion(incident.version) });
      await saveDeliveries(wh, [{ incidentId: incident.incidentId, event: 'recovery', channelId: '', channelType: '', ok: false, attempts: 0, detail: 'not sent: the rule was deleted or disabled while firing', sentAt: now }]);
    }
    const postbackRules = rules.filter((r) => r.condition === 'postback_failures');
    await this.o.postbackRates.sample(now.getTime(), Math.max(0, ...postbackRules.map((r) => r.windowMinutes * 60_000)));
    const outgoing = this.o.outgoingRecorded ? await outgoingAttempts(wh, postbackRules.map((r) => ({ ruleId: r.id, windowMinutes: r.windowMinutes })), now) : new Map<string, never>();
    const figures = await ruleFigures(
      wh,
      rules.filter((r) => r.condition !== 'postback_failures').map((r) => ({ ruleId: r.id, windowMinutes: r.windowMinutes, campaignId: r.campaignId, source: r.source, keyword: r.keyword })),
      this.o.sums,
      now,
    );
    const work: Promise<void>[] = [];
    for (const rule of rules) {
      const postbacks = { ...this.o.postbackRates.over(rule.windowMinutes * 60_000, now.getTime()), outgoing: outgoing.get(rule.id) ?? { failed: 0, total: 0 } };
      const verdict = judge(rule, figures.get(rule.id) ?? noFigures, postbacks);
      const incident = open.get(rule.id);
      if (!incident && verdict.starts && isActive(rule, now)) work.push(this.raise(rule, verdict, now));
      // Recoveries go out at any hour: the alert they close was sent.
      else if (incident && verdict.ends) work.push(this.resolve(rule, incident, verdict, now));
      // Opened, and its alert never recorded (an error, a crash): sent now.
      else if (incident && !sent.has(`${incident.incidentId}/alert`)) work.push(this.sendAlert(rule, incident, now));
    }
    for (const incident of resolved) {
      const rule = byId.get(incident.ruleId);
      if (!rule || !sent.has(`${incident.incidentId}/alert`) || sent.has(`${incident.incidentId}/recovery`)) continue;
      const verdict = judge(rule, figures.get(rule.id) ?? noFigures, { refused: 0, accepted: 0, outgoing: { failed: 0, total: 0 } });
      work.push(this.sendRecovery(rule, incident, rule.condition === 'postback_failures' ? incident.figure : verdict.figure, incident.resolvedAt ?? now));
    }
    // Each rule's sends are its own: one slow or failing rule holds no other back.
    const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private facts(rule: Rule, figure: string, startedAtMs: number): IncidentFacts {
    const campaign = rule.campaignId ? (this.o.campaignName(rule.campaignId) ?? rule.campaignId) : '';
    return { rule: rule.name, where: scopeText(rule, campaign || undefined), campaign, figure, startedAtMs, link: dashboardLink(this.o.publicUrl, rule.campaignId) };
  }

  private async raise(rule: Rule, verdict: Verdict, now: Date): Promise<void> {
    const incident: IncidentRow = {
      incidentId: newObjectId(),
      ruleId: rule.id,
      ruleName: rule.name,
      condition: rule.condition,
      scope: scopeText(rule, rule.campaignId ? this.o.campaignName(rule.campaignId) : undefined),
      state: 'firing',
      value: verdict.value,
      figure: verdict.figure,
      startedAt: now,
      resolvedAt: undefined,
      version: '1',
    };
    await saveIncident(this.o.warehouse, incident);
    this.o.metrics.alerts.inc({ event: 'alert' });
    await this.sendAlert(rule, incident, now);
  }

  /** The alert of an open incident, to every channel of its rule. */
  private async sendAlert(rule: Rule, incident: IncidentRow, now: Date): Promise<void> {
    const facts = this.facts(rule, incident.figure, incident.startedAt.getTime());
    if (rule.condition === 'no_sales' || rule.condition === 'revenue_below') {
      facts.lastSaleLookbackDays = lastSaleLookbackDays;
      facts.lastSaleMs = await lastPaidConversionMs(this.o.warehouse, rule, this.o.sums, now, lastSaleLookbackDays * 86_400_000);
    }
    await this.notify(rule, incident.incidentId, alertMessage(facts));
  }

  private async resolve(rule: Rule, incident: IncidentRow, verdict: Verdict, now: Date): Promise<void> {
    await saveIncident(this.o.warehouse, { ...incident, state: 'resolved', resolvedAt: now, version: successorVersion(incident.version) });
    this.o.metrics.alerts.inc({ event: 'recovery' });
    await this.sendRecovery(rule, incident, verdict.figure, now);
  }

  private sendRecovery(rule: Rule, incident: IncidentRow, figure: string, endedAt: Date): Promise<void> {
    return this.notify(rule, incident.incidentId, recoveryMessage(this.facts(rule, figure, incident.startedAt.getTime()), endedAt.getTime()));
  }

  /** Every channel of the rule at once, each with its retries; the outcomes are recorded together. */
  private async notify(rule: Rule, incidentId: string, message: AlertMessage): Promise<void> {
    const event = message.event === 'recovery' ? 'recovery' : 'alert';
    const rows = await Promise.all(
      rule.channels.map(async (channelId): Promise<DeliveryRow> => {
        const channel = this.o.channel(channelId);
        const outcome = channel ? await deliver(this.o.sender, channel, message, this.o.retryDelaysMs) : { ok: false, attempts: 0, detail: 'the channel was deleted' };
        const channelType = channel?.type ?? '';
        this.o.metrics.alertDeliveries.inc({ type: channelType, result: outcome.ok ? 'ok' : 'failed' });
        return { incidentId, event, channelId, channelType, ...outcome, sentAt: new Date() };
      }),
    );
    await saveDeliveries(this.o.warehouse, rows);
  }
}
