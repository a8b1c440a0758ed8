import { z } from 'zod';
import { headerValue, httpHeaders, httpUrlWithMacros, isoTimestamp, objectId, plainText } from '../core/schemas.js';
import { placeholderProblem } from './webhook-template.js';

const withPlaceholders = <T extends z.ZodType<string>>(schema: T) =>
  schema.superRefine((value, ctx) => {
    const problem = placeholderProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** An http(s) URL normalised as every URL keyrev sends to (core/schemas.ts), here without placeholders. */
const httpUrl = httpUrlWithMacros.refine((url) => !/\{[a-z0-9_]+\}/i.test(url), 'must be an http(s) URL without {placeholders}');
/** Where a built-in channel sends instead of the platform's own API: a proxy, a test receiver. */
const apiBase = httpUrl.optional();
const secret = (max: number) => plainText(max).min(1);
const bodyTypes = ['json', 'form', 'text'] as const;

/** The fields each channel type takes; the secret ones are masked when a channel is read. */
const channelFields = {
  webhook: {
    /** May hold placeholders after the host (a GET carries its data there), URL-encoded. */
    url: withPlaceholders(httpUrlWithMacros),
    method: z.enum(['POST', 'GET']).default('POST'),
    headers: httpHeaders(withPlaceholders(headerValue)).default({}),
    /** How the body template is read and filled: values JSON-escaped, form-encoded, or as they are. */
    bodyType: z.enum(bodyTypes).default('json'),
    /** With {rule}, {message}, {state}, {campaign}, {since} and {link}; without it, every field (JSON or form) or the message (text). */
    body: withPlaceholders(z.string().max(10_000).refine((b) => b.isWellFormed(), 'must be well-formed text')).optional(),
  },
  slack: { webhookUrl: httpUrl, apiBase },
  telegram: { botToken: secret(200).regex(/^[A-Za-z0-9:_-]+$/, 'must be a bot token such as 123456:ABC-DEF'), chatId: plainText(100).min(1), apiBase },
  'twilio-sms': {
    accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio account SID (AC and 32 hex digits)'),
    authToken: secret(200),
    from: plainText(50).min(1),
    to: plainText(50).min(1),
    apiBase,
  },
  email: { to: z.email().max(320) },
} as const;

export type ChannelType = keyof typeof channelFields;
export const channelTypes = Object.keys(channelFields) as ChannelType[];

const name = plainText(200).default('');

export const channelInput = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('webhook'), name, ...channelFields.webhook }).refine((c) => c.method === 'POST' || c.body === undefined, { path: ['body'], message: 'a GET has no body: put placeholders in the URL, or set method POST' }),
  z.strictObject({ type: z.literal('slack'), name, ...channelFields.slack }),
  z.strictObject({ type: z.literal('telegram'), name, ...channelFields.telegram }),
  z.strictObject({ type: z.literal('twilio-sms'), name, ...channelFields['twilio-sms'] }),
  z.strictObject({ type: z.literal('email'), name, ...channelFields.email }),
]);
export type ChannelInput = z.output<typeof channelInput>;

const storedFields = { id: objectId, createdAt: isoTimestamp };

/**
 * A channel as stored, and as answered with its secrets masked (the same shape: a masked secret
 * is still a string). Read leniently: a stored document is shown as it was saved.
 */
export const channel = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('webhook'),
    name: z.string(),
    url: z.string(),
    method: z.enum(['POST', 'GET']),
    headers: z.record(z.string(), z.string()),
    bodyType: z.enum(bodyTypes).default('json'),
    body: z.string().optional(),
    ...storedFields,
  }),
  z.object({ type: z.literal('slack'), name: z.string(), webhookUrl: z.string(), apiBase: z.string().optional(), ...storedFields }),
  z.object({ type: z.literal('telegram'), name: z.string(), botToken: z.string(), chatId: z.string(), apiBase: z.string().optional(), ...storedFields }),
  z.object({ type: z.literal('twilio-sms'), name: z.string(), accountSid: z.string(), authToken: z.string(), from: z.string(), to: z.string(), apiBase: z.string().optional(), ...storedFields }),
  z.object({ type: z.literal('email'), name: z.string(), to: z.string(), ...storedFields }),
]);
export type Channel = z.infer<typeof channel>;

export const channelParams = z.object({ id: objectId });

/** What one channel said to one message. */
export const deliveryOutcome = z.object({
  ok: z.boolean(),
  attempts: z.number().int(),
  /** `HTTP 200`, the receiver's error answer, or why it could not be sent (secrets left out). */
  detail: z.string(),
});
export type DeliveryOutcome = z.infer<typeof deliveryOutcome>;
