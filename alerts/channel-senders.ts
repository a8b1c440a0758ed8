import nodemailer from 'nodemailer';
import type { OutboundClient, OutboundRequest } from '../core/outbound-http.js';
import type { Channel, DeliveryOutcome } from './channel-schema.js';
import { clip, type AlertMessage } from './message.js';
import { fillWebhook, webhookValues } from './webhook-template.js';

const defaultApi = { telegram: 'https://api.telegram.org', twilio: 'https://api.twilio.com' } as const;
const requestTimeoutMs = 10_000;

const joinUrl = (base: string, path: string) => base.replace(/\/+$/, '') + path;

/** A Slack webhook's path on the apiBase, when one is set (a proxy keeps Slack's path). */
function slackUrl(webhookUrl: string, apiBase: string | undefined): string {
  if (!apiBase) return webhookUrl;
  const u = new URL(webhookUrl);
  return joinUrl(apiBase, u.pathname + u.search);
}

/** Slack reads &, < and > as markup in text (links, mentions): they are escaped as its API asks. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const contentTypes = { json: 'application/json', form: 'application/x-www-form-urlencoded', text: 'text/plain; charset=utf-8' } as const;

/**
 * A webhook's body, by its bodyType: the template with each value JSON-escaped (json),
 * form-encoded (form) or as it is (text), so that a campaign named with a quote or an `&` cannot
 * break the receiver's parse. Without a template: every field as a JSON object or a form, or the
 * message's text.
 */
export function webhookBody(c: Extract<Channel, { type: 'webhook' }>, m: AlertMessage): string {
  if (c.body !== undefined) return fillWebhook(c.body, m, c.bodyType);
  const values = webhookValues(m);
  if (c.bodyType === 'json') return JSON.stringify(values);
  return c.bodyType === 'form' ? new URLSearchParams(values).toString() : m.text;
}

/** The HTTP request each platform expects for a message. */
export function channelRequest(c: Exclude<Channel, { type: 'email' }>, m: AlertMessage): OutboundRequest {
  const json = { 'content-type': 'application/json' };
  switch (c.type) {
    case 'webhook': {
      // A GET carries its data in the URL's placeholders; header values are templates too.
      const body = c.method === 'GET' ? undefined : webhookBody(c, m);
      const headers = Object.fromEntries(Object.entries(c.headers).map(([name, value]) => [name, fillWebhook(value, m, 'header')]));
      const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
      if (body !== undefined && !hasType) headers['content-type'] = contentTypes[c.bodyType];
      return { url: fillWebhook(c.url, m, 'url'), method: c.method, headers, ...(body !== undefined ? { body } : {}), timeoutMs: requestTimeoutMs };
    }
    case 'slack':
      return { url: slackUrl(c.webhookUrl, c.apiBase), method: 'POST', headers: json, body: JSON.stringify({ text: slackEscape(m.text) }), timeoutMs: requestTimeoutMs };
    case 'telegram':
      // Plain text (no parse_mode): nothing in a campaign name can be read as markup.
      return {
        url: joinUrl(c.apiBase ?? defaultApi.telegram, `/bot${c.botToken}/sendMessage`),
        method: 'POST',
        headers: json,
        body: JSON.stringify({ chat_id: c.chatId, text: clip(m.text, 4096), disable_web_page_preview: true }),
        timeoutMs: requestTimeoutMs,
      };
    case 'twilio-sms':
      return {
        url: joinUrl(c.apiBase ?? defaultApi.twilio, `/2010-04-01/Accounts/${c.accountSid}/Messages.json`),
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${c.accountSid}:${c.authToken}`).toString('base64')}`,
        },
        body: new URLSearchParams({ To: c.to, From: c.from, Body: m.short }).toString(),
        timeoutMs: requestTimeoutMs,
      };
  }
}

/** The values of a channel that must never reach a log or a stored outcome. */
export function secretsOf(c: Channel): string[] {
  switch (c.type) {
    case 'webhook':
      return [new URL(c.url).pathname, new URL(c.url).search, ...Object.values(c.headers)].filter((s) => s.length > 3);
    case 'slack':
      return [new URL(c.webhookUrl).pathname];
    case 'telegram':
      return [c.botToken];
    case 'twilio-sms':
      return [c.authToken];
    case 'email':
      return [];
  }
}

function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((t, s) => (s.length > 3 ? t.split(s).join('***') : t), text);
}

export interface ChannelSenderOptions {
  outbound: OutboundClient;
  /** KEYREV_SMTP_URL; email channels fail with a clear detail without it. */
  smtpUrl: string | undefined;
}

/** Sends one message to one channel, once: what the channel answered, secrets left out. */
export function createChannelSender(opts: ChannelSenderOptions) {
  const mailer = opts.smtpUrl ? nodemailer.createTransport({ url: opts.smtpUrl, connectionTimeout: requestTimeoutMs, greetingTimeout: requestTimeoutMs, socketTimeout: requestTimeoutMs }) : undefined;
  // Mail servers often accept only their user as the sender: that user when it is an address.
  const smtpUser = opts.smtpUrl ? decodeURIComponent(new URL(opts.smtpUrl).username) : '';
  const from = smtpUser.includes('@') ? smtpUser : `keyrev <keyrev@${opts.smtpUrl ? new URL(opts.smtpUrl).hostname : 'localhost'}>`;

  async function sendEmail(to: string, m: AlertMessage): Promise<{ ok: boolean; detail: string }> {
    if (!mailer) return { ok: false, detail: 'KEYREV_SMTP_URL is not set' };
    const subject = m.event === 'alert' ? `[keyrev] ALERT ${m.rule}` : m.event === 'recovery' ? `[keyrev] recovered ${m.rule}` : '[keyrev] test message';
    try {
      const info = await mailer.sendMail({ from, to, subject: clip(subject, 200), text: m.text });
      return { ok: true, detail: String(info.response ?? 'sent').split('\n', 1)[0]! };
    } catch (err) {
      return { ok: false, detail: (err as Error).message.split('\n', 1)[0]! };
    }
  }

  async function sendOnce(c: Channel, m: AlertMessage): Promise<{ ok: boolean; detail: string }> {
    if (c.type === 'email') return sendEmail(c.to, m);
    const result = await opts.outbound.send(channelRequest(c, m));
    if (!result.ok) return { ok: false, detail: result.error };
    const ok = result.status >= 200 && result.status < 300;
    return { ok, detail: ok ? `HTTP ${result.status}` : `HTTP ${result.status}: ${clip(result.bodyStart.replace(/\s+/g, ' ').trim(), 200)}` };
  }

  return {
    /** One attempt; retries are the caller's (alerts retry, a test message does not). */
    async send(c: Channel, m: AlertMessage): Promise<{ ok: boolean; detail: string }> {
      const outcome = await sendOnce(c, m);
      return { ok: outcome.ok, detail: redact(outcome.detail, secretsOf(c)) };
    },
    close(): void {
      mailer?.close();
      opts.outbound.close();
    },
  };
}

export type ChannelSender = ReturnType<typeof createChannelSender>;

/** Sends with retries (a failed attempt waits `delaysMs[i]` before the next), never throwing. */
export async function deliver(sender: ChannelSender, c: Channel, m: AlertMessage, delaysMs: readonly number[]): Promise<DeliveryOutcome> {
  let attempts = 0;
  for (;;) {
    attempts++;
    const outcome = await sender.send(c, m);
    const delay = delaysMs[attempts - 1];
    if (outcome.ok || delay === undefined) return { ...outcome, attempts };
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
