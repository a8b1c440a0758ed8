import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelSender, deliver } from '../../alerts/channel-senders.js';
import { testMessage } from '../../alerts/message.js';
import { createOutboundClient } from '../../core/outbound-http.js';
import { adminAuth, startApp, type TestApp } from '../helpers/app.js';
import { startReceiver } from './receiver.js';

interface Mail {
  from: string;
  to: string[];
  data: string;
}

/** A local SMTP server that keeps every message it is given. */
async function startSmtp() {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('alert channels', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;

  beforeAll(async () => {
    receiver = await startReceiver((r) => (r.url.startsWith('/fail') ? 500 : 200));
    smtp = await startSmtp();
    t = await startApp({ KEYREV_OUTBOUND_ALLOW: '127.0.0.1', KEYREV_SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([receiver.close(), smtp.close()]);
  });

  const create = async (payload: object) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/alert-channels', headers: adminAuth, payload });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const test = async (id: string) => {
    const res = await t.app.inject({ method: 'POST', url: `/api/alert-channels/${id}/test`, headers: adminAuth });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { ok: boolean; attempts: number; detail: string };
  };
  const last = () => receiver.received.at(-1)!;
  // A name with Slack markup and quotes: each platform must get it as text.
  const name = 'Ops <!channel> & "night"';

  it('slack: the webhook path on apiBase, JSON text with &, < and > escaped', async () => {
    const id = await create({ type: 'slack', name, webhookUrl: 'https://hooks.slack.com/services/T000/B000/SLACKSECRET123', apiBase: `${receiver.base}/slack-proxy` });
    expect(await test(id)).toEqual({ ok: true, attempts: 1, detail: 'HTTP 200' });
    expect(last()).toMatchObject({ method: 'POST', url: '/slack-proxy/services/T000/B000/SLACKSECRET123' });
    expect(last().headers['content-type']).toBe('application/json');
    expect(JSON.parse(last().body).text).toContain('Ops &lt;!channel&gt; &amp; "night"');
  });

  it('telegram: /bot<token>/sendMessage with chat_id and plain text', async () => {
    const id = await create({ type: 'telegram', name, botToken: '123456:TELEGRAM-secret_token', chatId: '-1001', apiBase: receiver.base });
    expect((await test(id)).ok).toBe(true);
    expect(last().url).toBe('/bot123456:TELEGRAM-secret_token/sendMessage');
    const body = JSON.parse(last().body);
    expect(body).toMatchObject({ chat_id: '-1001' });
    expect(body.text).toContain(name);
  });

  it('twilio-sms: the Messages API with basic auth and a form body within 160 characters', async () => {
    const sid = `AC${'a1'.repeat(16)}`;
    const id = await create({ type: 'twilio-sms', name: name.repeat(6), accountSid: sid, authToken: 'twilio-auth-secret', from: '+15550001111', to: '+15552223333', apiBase: receiver.base });
    expect((await test(id)).ok).toBe(true);
    expect(last().url).toBe(`/2010-04-01/Accounts/${sid}/Messages.json`);
    expect(last().headers.authorization).toBe(`Basic ${Buffer.from(`${sid}:twilio-auth-secret`).toString('base64')}`);
    expect(last().headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(last().body);
    expect(form.get('To')).toBe('+15552223333');
    expect(form.get('From')).toBe('+15550001111');
    expect([...form.get('Body')!].length).toBeLessThanOrEqual(160);
    // Cut with ASCII dots: one character outside the GSM alphabet would make the SMS UCS-2 (70 a part).
    expect(form.get('Body')).toMatch(/^keyrev test message .*\.\.\.$/);
  });

  it('email: through the SMTP server of KEYREV_SMTP_URL', async () => {
    const id = await create({ type: 'email', name: 'On call', to: 'oncall@example.com' });
    const outcome = await test(id);
    expect(outcome.ok, outcome.detail).toBe(true);
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0]!.to).toEqual(['oncall@example.com']);
    expect(smtp.mails[0]!.data).toMatch(/Subject: \[keyrev\] test message/);
    expect(smtp.mails[0]!.data).toMatch(/channel "On call"/);
  });

  it('a failing webhook: the test answers what the receiver said; GET masks every secret', async () => {
    const id = await create({ type: 'webhook', url: `${receiver.base}/fail/path-secret-abc`, headers: { authorization: 'Bearer header-secret-xyz' } });
    const outcome = await test(id);
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toBe('HTTP 500: {"error":"receiver says no"}');
    expect(last().headers.authorization).toBe('Bearer header-secret-xyz');

    const list = (await t.app.inject({ method: 'GET', url: '/api/alert-channels', headers: adminAuth })).body;
    for (const secret of ['SLACKSECRET123', 'TELEGRAM-secret_token', 'twilio-auth-secret', 'path-secret-abc', 'header-secret-xyz']) expect(list).not.toContain(secret);
    const one = (await t.app.inject({ method: 'GET', url: `/api/alert-channels/${id}`, headers: adminAuth })).json();
    expect(one).toMatchObject({ type: 'webhook', url: `${receiver.base}/********`, headers: { authorization: '********' }, method: 'POST' });
  });

  it('webhook: the body filled for its bodyType (text as is, form form-encoded, json escaped), a GET through URL placeholders', async () => {
    const hookName = 'Q "1" & a=b';
    const text = await create({ type: 'webhook', name: hookName, url: `${receiver.base}/text`, bodyType: 'text', body: '{"looks":"like json"} {message}' });
    await test(text);
    expect(last().headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(last().body).toMatch(/^\{"looks":"like json"\} keyrev test message for channel "Q "1" & a=b"/);
    const form = await create({ type: 'webhook', name: hookName, url: `${receiver.base}/form`, bodyType: 'form', body: 'text={message}&state={state}' });
    await test(form);
    expect(last().headers['content-type']).toBe('application/x-www-form-urlencoded');
    const fields = new URLSearchParams(last().body);
    expect(fields.get('state')).toBe('test');
    expect(fields.get('text')).toMatch(/^keyrev test message for channel "Q "1" & a=b"/);
    const get = await create({ type: 'webhook', name: hookName, method: 'GET', url: `${receiver.base}/get?state={state}&text={message}`, headers: { 'X-State': '{state}' } });
    await test(get);
    expect(last()).toMatchObject({ method: 'GET', body: '' });
    const query = new URL(last().url, receiver.base).searchParams;
    expect(query.get('state')).toBe('test');
    expect(query.get('text')).toMatch(/^keyrev test message for channel "Q "1" & a=b"/);
    expect(last().headers['x-state']).toBe('test');
    const bad = async (payload: object) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/alert-channels', headers: adminAuth, payload: { type: 'webhook', url: `${receiver.base}/x`, ...payload } });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      return res.json().message as string;
    };
    expect(await bad({ body: '{"m":"{mesage}"}' })).toMatch(/unknown placeholder \{mesage\}/);
    expect(await bad({ url: `${receiver.base}/x?a={nope}` })).toMatch(/unknown placeholder \{nope\}/);
    expect(await bad({ method: 'GET', body: 'x' })).toMatch(/a GET has no body/);
    expect(await bad({ bodyType: 'xml' })).toMatch(/bodyType/);
  });

  it('webhook headers: the transport\'s (Host, Content-Length, Transfer-Encoding, ...) are refused, values must be sendable', async () => {
    for (const name of ['Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'X-Keyrev-Delivery']) {
      const res = await t.app.inject({ method: 'POST', url: '/api/alert-channels', headers: adminAuth, payload: { type: 'webhook', url: `${receiver.base}/x`, headers: { [name]: 'evil.example' } } });
      expect(res.statusCode, name).toBe(400);
      expect(res.json().message, name).toMatch(/is set by keyrev/);
    }
    const latin = await t.app.inject({ method: 'POST', url: '/api/alert-channels', headers: adminAuth, payload: { type: 'webhook', url: `${receiver.base}/x`, headers: { 'X-Name': '日本' } } });
    expect(latin.statusCode).toBe(400);
    // The one masking policy of keyrev: harmless headers are shown, every other value masked.
    const id = await create({ type: 'webhook', url: `${receiver.base}/x`, headers: { 'Content-Type': 'application/json', 'X-Partner': 'p-secret' } });
    const shown = (await t.app.inject({ method: 'GET', url: `/api/alert-channels/${id}`, headers: adminAuth })).json();
    expect(shown.headers).toEqual({ 'Content-Type': 'application/json', 'X-Partner': '********' });
  });

  it('refuses destinations the outgoing-request guard refuses, and email without KEYREV_SMTP_URL is explained', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/alert-channels', headers: adminAuth, payload: { type: 'webhook', url: 'http://169.254.169.254/latest/meta-data' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/169\.254\.169\.254 cannot be sent to/);
    const tg = await t.app.inject({ method: 'POST', url: '/api/alert-channels', headers: adminAuth, payload: { type: 'telegram', botToken: '1:x', chatId: '1', apiBase: 'http://10.1.2.3' } });
    expect(tg.statusCode).toBe(400);
  });

  it('a failed delivery is retried, and its attempts counted', async () => {
    let calls = 0;
    const flaky = await startReceiver(() => (++calls === 1 ? 503 : 200));
    const sender = createChannelSender({ outbound: createOutboundClient({ allow: ['127.0.0.1'] }), smtpUrl: undefined });
    try {
      const hook = { type: 'webhook' as const, id: 'h', name: 'h', createdAt: new Date().toISOString(), url: `${flaky.base}/x`, method: 'POST' as const, headers: {}, bodyType: 'json' as const };
      expect(await deliver(sender, hook, testMessage('h', Date.now()), [10, 10])).toEqual({ ok: true, attempts: 2, detail: 'HTTP 200' });
      const down = { ...hook, url: 'http://127.0.0.1:1/x' };
      const outcome = await deliver(sender, down, testMessage('h', Date.now()), [10, 10]);
      expect(outcome).toMatchObject({ ok: false, attempts: 3 });
      expect(outcome.detail).toMatch(/ECONNREFUSED/);
      const mail = await deliver(sender, { type: 'email', id: 'm', name: 'm', createdAt: '', to: 'a@example.com' }, testMessage('m', Date.now()), []);
      expect(mail).toEqual({ ok: false, attempts: 1, detail: 'KEYREV_SMTP_URL is not set' });
    } finally {
      sender.close();
      await flaky.close();
    }
  });
});
