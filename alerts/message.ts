/** One thing to tell a channel: an alert, its recovery, or a test from the API. */
export interface AlertMessage {
  event: 'alert' | 'recovery' | 'test';
  rule: string;
  /** The campaign's name (or id when it has none), '' for a rule not scoped to one campaign. */
  campaign: string;
  /** When the incident started (ISO 8601). */
  since: string;
  /** The whole text: what happened, where, since when, the last sale. */
  text: string;
  /** The same within 160 characters, for SMS (without the link: it would take half of them). */
  short: string;
  /** The dashboard's report of the campaign (or the dashboard), '' without KEYREV_PUBLIC_URL. */
  link: string;
}

/**
 * The dashboard's report view filtered by a campaign (the dashboard keeps its view in the URL's
 * query, with the API's names: `filter[campaign]=<id>`), or the dashboard itself for a rule over
 * all campaigns; '' when keyrev does not know its public URL.
 */
export function dashboardLink(publicUrl: string | undefined, campaignId: string | undefined): string {
  if (!publicUrl) return '';
  return campaignId ? `${publicUrl}/?${new URLSearchParams({ 'filter[campaign]': campaignId }).toString()}` : `${publicUrl}/`;
}

const linkLine = (link: string) => (link ? ` Report: ${link}` : '');

/** `{state}` of a webhook body: what a receiver branches on. */
export const stateOf = (m: AlertMessage) => (m.event === 'alert' ? 'firing' : m.event === 'recovery' ? 'resolved' : 'test');

const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

/** Cut to `max` characters, an ellipsis marking the cut. */
export function clip(text: string, max: number, ellipsis = '…'): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - ellipsis.length).join('') + ellipsis;
}

/**
 * SMS text within one message of 160 characters: cut with three dots, since a single character
 * outside the GSM alphabet ('…' is one) makes the whole message UCS-2, 70 characters a part.
 */
const sms = (text: string) => clip(text, 160, '...');

export interface IncidentFacts {
  rule: string;
  /** `campaign "Spring sale" (source google, keyword shoes)`, or `all campaigns`. */
  where: string;
  campaign: string;
  /** The figure that tripped the rule or ended it: `0 sales in the last 60 min (42 clicks)`. */
  figure: string;
  startedAtMs: number;
  /** The scope's last paid conversion, when the rule is about sales. */
  lastSaleMs?: number | undefined;
  /** Whether a last sale was looked for (the line says "none in 30 days" when it was not found). */
  lastSaleLookbackDays?: number | undefined;
  /** dashboardLink() of the rule's campaign. */
  link: string;
}

export function alertMessage(f: IncidentFacts): AlertMessage {
  const lastSale =
    f.lastSaleLookbackDays === undefined ? '' : f.lastSaleMs === undefined ? ` Last sale: none in ${f.lastSaleLookbackDays} days.` : ` Last sale: ${minute(f.lastSaleMs)}.`;
  const text = `keyrev alert "${f.rule}": ${f.figure} for ${f.where}, since ${minute(f.startedAtMs)}.${lastSale}${linkLine(f.link)}`;
  const short = sms(`keyrev ALERT ${f.rule}: ${f.figure}, ${f.where}, since ${minute(f.startedAtMs)}`);
  return { event: 'alert', rule: f.rule, campaign: f.campaign, since: new Date(f.startedAtMs).toISOString(), text, short, link: f.link };
}

export function recoveryMessage(f: IncidentFacts, endedAtMs: number): AlertMessage {
  const lasted = Math.max(1, Math.round((endedAtMs - f.startedAtMs) / 60_000));
  const text = `keyrev recovered "${f.rule}": ${f.figure} for ${f.where}; the alert of ${minute(f.startedAtMs)} lasted ${lasted} min.${linkLine(f.link)}`;
  const short = sms(`keyrev OK ${f.rule}: ${f.figure}, ${f.where}, after ${lasted} min`);
  return { event: 'recovery', rule: f.rule, campaign: f.campaign, since: new Date(f.startedAtMs).toISOString(), text, short, link: f.link };
}

export function testMessage(channelName: string, nowMs: number, link = ''): AlertMessage {
  const text = `keyrev test message for channel "${channelName}" at ${minute(nowMs)}: alerts will arrive here.`;
  return { event: 'test', rule: 'test', campaign: '', since: new Date(nowMs).toISOString(), text: text + linkLine(link), short: sms(text), link };
}
