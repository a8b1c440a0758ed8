import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { errorCodes } from '../../core/errors.js';
import { clickParamAliases } from '../../ingest/clicks/click-params.js';
import { defaultPostbackParams, statusWords } from '../../ingest/postbacks/postback-params.js';
import { EmbeddedWarehouse } from '../../warehouse/embedded.js';
import { adminAuth, adminKey, startApp } from '../helpers/app.js';
import { listRoutes, type RouteInfo } from '../helpers/routes.js';
import { tempDir } from '../helpers/temp.js';

/**
 * The standing fuzz suite: property-based requests to every route the app has (read from its
 * router, so a route added later is fuzzed too), with the inputs attackers and broken clients
 * send: query strings and bodies with control characters, lone surrogates, broken percent and
 * JSON escapes, huge numbers, `__proto__` keys, arrays where objects are expected, gzip that is
 * not; every /api route with no key, a wrong key, a report key and the admin key.
 *
 * Properties of every answer: never a 5xx; an error is the one JSON shape {statusCode, code,
 * error, message} with a known code of its status and a one-line message; a refused request
 * changes nothing (spooled records after every refusal; ClickHouse rows and settings on a
 * sample). /health answers 200 at the end.
 *
 * Reproducible: one seed (FUZZ_SEED, printed with every failure), and FUZZ_PATH replays the
 * shrunk counterexample of a failure alone.
 */

const seed = Number(process.env.FUZZ_SEED ?? 20_260_617);
const replayPath = process.env.FUZZ_PATH;

/**
 * Counterexamples this suite found that are not fixed yet, in code outside it (being changed by
 * others, or not assigned yet). The properties are not weakened for them: a failure matching one
 * of these still fails, and says it is known and whose it is. Remove an entry once it is fixed.
 */
const knownOpen: { owner: string; what: string; matches(req: Req, res: Answer): boolean }[] = [
  {
    owner: 'server/app.ts (Fastify frameworkErrors); found by this suite, not yet assigned',
    what: "the router answers a path parameter past maxParamLength (414) or with a broken percent escape (400) itself, with Fastify's body (code FST_ERR_*, the path echoed), not the keyrev error shape",
    matches: (_req, res) => /"code":"FST_ERR_(BAD_URL|MAX_PARAM_LENGTH)"/.test(res.body),
  },
  {
    owner: 'bulk postbacks (ingest/postbacks/postback-bulk-route.ts, being changed for the bulk limits)',
    what: 'an authorised POST /postbacks[/:network] with an empty body and no Content-Type has no body stream (req.body undefined): 500',
    matches: (req, res) => req.url.startsWith('/postbacks') && res.statusCode === 500 && (req.payload === undefined || req.payload.length === 0) && !req.headers['content-type'],
  },
];

// -- The apps: one with postbacks open to anyone (KEYREV_POSTBACK_SECRET=off), one with the product's
// default (a secret generated into the data directory). One ClickHouse engine for both (chdb holds one
// data directory per process).

const engine = await EmbeddedWarehouse.open(tempDir());
const open = await startApp({ KEYREV_POSTBACK_SECRET: 'off' }, { warehouse: engine });

const signingKey = 'fuzz-signing-key-0123456789';
/**
 * Objects the fuzz reaches by their real names some of the time: a campaign and a click of it,
 * networks with a secret and with a signing key, a report key. PATCH and DELETE get victims of
 * their own, so that the campaign and the networks stay as they are for the routes fuzzed after.
 */
const fixtures = await (async () => {
  const admin = async (method: 'POST' | 'GET', url: string, payload?: object) => {
    const res = await open.app.inject({ method, url, headers: adminAuth, ...(payload ? { payload } : {}) });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.json();
  };
  const offerUrl = 'https://offer.example/?c={clickid}&kw={keyword}&sub={sub1}';
  const campaign = await admin('POST', '/api/campaigns', { name: 'Fuzz', offerUrl });
  const victimCampaign = await admin('POST', '/api/campaigns', { name: 'Victim', offerUrl });
  const networkSecret = 'fuzz-network-secret-1';
  await admin('POST', '/api/networks', { slug: 'fuzznet', name: 'Fuzz net', secret: networkSecret, statusMap: { '1': 'sale', '2': 'lead' } });
  await admin('POST', '/api/networks', { slug: 'signnet', name: 'Signing net', signingKey, params: { clickId: ['sub_id'] } });
  await admin('POST', '/api/networks', { slug: 'victimnet', name: 'Victim net' });
  const reportKey = (await admin('POST', '/api/keys', { name: 'fuzz reports' })).key as string;
  const victimKey = (await admin('POST', '/api/keys', { name: 'victim' })).id as string;
  const click = await open.app.inject({ method: 'GET', url: `/c/${campaign.id}?kw=fuzz` });
  expect(click.statusCode).toBe(302);
  const dimensions = ((await admin('GET', '/api/report/meta')).dimensions as { id?: string; name?: string }[]).map((d) => d.id ?? d.name ?? '');
  return {
    campaignId: campaign.id as string,
    victimCampaignId: victimCampaign.id as string,
    networkSecret,
    reportKey,
    victimKey,
    clickId: click.headers['x-keyrev-click-id'] as string,
    dimensions,
  };
})();

const guarded = await startApp({ KEYREV_POSTBACK_SECRET: '' }, { warehouse: engine });
/** The secret the guarded app generated on first start (README: data/postback.secret). */
const generatedSecret = (() => {
  const file = path.join(guarded.dataDir, 'postback.secret');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : 'no-generated-secret-found';
})();

afterAll(async () => {
  // Not TestApp.close: that would close the engine both apps share.
  await guarded.app.close();
  await open.app.close();
  await engine.close();
});

/** The ingest routes first: the admin routes fuzzed after them may change settings (victims only, but still). */
const routes = listRoutes(open.app).sort((a, b) => Number(kindOf(a) === 'other') - Number(kindOf(b) === 'other'));
/** As the app's router is set up (server/app.ts). */
const routerLimits = { maxParamLength: (open.app.initialConfig as { routerOptions?: { maxParamLength?: number } }).routerOptions?.maxParamLength ?? 100 };

// -- Values. A JSON value is written out by jsonText, so that an object can hold `__proto__` as an
// own key (Obj) and a number can be out of any range (Raw).

class Raw {
  constructor(readonly text: string) {}
}
class Obj {
  constructor(readonly entries: readonly (readonly [string, unknown])[]) {}
}
function jsonText(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Obj) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  return JSON.stringify(value) ?? 'null';
}
/** The same value as a query parameter's text. */
const paramText = (value: unknown) => (typeof value === 'string' ? value : value instanceof Raw ? value.text : typeof value === 'object' && value !== null ? jsonText(value) : String(value));

/** Characters and fragments that break parsers: controls, lone surrogates, broken escapes, separators. */
const nasty = fc.constantFrom(
  '\u0000', '\u0001', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u2028', '\u2029', '\ufeff', '\u202e', '\uffff',
  '\ud800', '\udbff', '\udc00', '\udfff', '😀', 'é', 'ß', '\u0130',
  '%', '%00', '%zz', '%E0%A4', '%ED%A0%80', '%C0%AF', '%FF', '%2F', '%25', '%0A', '%u0041',
  '&', '=', '+', ';', '#', '?', '/', '\\', '"', "'", '<', '>', '{', '}', '[', ']', '`', ' ', '..', '*', '$', '|', '\\u0000', '\\ud800',
);
const numberText = fc.oneof(
  fc.constantFrom(
    '1e308', '1e400', '-1e400', '1e-400', '-0', '9007199254740993', '18446744073709551616', '-9223372036854775809',
    '123456789012345678901234567890.123456789', '0.0000001', '1,234.56', '1.234,56', '12.3.4', 'NaN', 'Infinity', '-Infinity', '0x1F', '1_000', '00012', '-12.5',
  ),
  fc.double().map(String),
  fc.bigInt().map(String),
  fc.integer().map(String),
);
const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 16 }) },
  { weight: 4, arbitrary: fc.string({ unit: fc.oneof(nasty, fc.string({ minLength: 1, maxLength: 1 })), maxLength: 10 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
  { weight: 2, arbitrary: numberText },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', 'null', 'undefined', 'true', '[]', '{}', '{clickid}', '#payout#', 'REPLACE', 'sale', 'lead', 'USD', 'xx', 'Europe/Berlin', 'Mars/Olympus', '2024-02-30', 'today'),
  },
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(257), 'x'.repeat(3_000), 'é'.repeat(1_100)) },
);

/** Names no code should trust. */
const hostileNames = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'filter[__proto__]', 'a[b][c]', '', ' ', 'x'.repeat(70)];
const hostileName = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...hostileNames) }, { weight: 1, arbitrary: text });

/** Any JSON value, or none a schema allows: strings of `text`, numbers out of range, arrays where objects go, objects with hostile keys. */
const hostile: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    text,
    numberText.filter((n) => /^-?\d+(\.\d+)?(e-?\d+)?$/.test(n)).map((n) => new Raw(n)),
    fc.constantFrom(null, true, false, '', 0, -1),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(hostileName, tie('value')), { maxLength: 4 }).map((entries) => new Obj(entries)),
    fc.jsonValue({ maxDepth: 2 }),
  ),
})).value;

const today = new Date().toISOString().slice(0, 10);
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const clickIds = fc.constantFrom(fixtures.clickId, fixtures.clickId, '1190958357420605440');
/**
 * Values that mean something to keyrev, by the name they are sent under: `good` what a client
 * means to send (text fields still get any text), `odd` the near misses.
 */
const hints = new Map<string, { good: fc.Arbitrary<unknown>; odd: fc.Arbitrary<unknown> }>([
  ...[...defaultPostbackParams.clickId, 'clickId'].map((n) => [n, { good: clickIds, odd: fc.constantFrom('0', '18446744073709551615', '18446744073709551616', `${fixtures.clickId}0`, ` ${fixtures.clickId}`, '-1', '1e3') }] as const),
  ...defaultPostbackParams.amount.map((n) => [n, { good: fc.constantFrom('12.5', '0', '1,234.56', '1.234,56', '0.000001', '999999999'), odd: numberText }] as const),
  ...defaultPostbackParams.txid.map((n) => [n, { good: fc.oneof(fc.constantFrom('ORDER-1', 'ORDER-2'), text), odd: fc.constantFrom('', 'x'.repeat(257)) }] as const),
  ...defaultPostbackParams.status.map((n) => [n, { good: fc.constantFrom(...Object.keys(statusWords), '1', '2', 'SALE'), odd: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'), text) }] as const),
  ...defaultPostbackParams.currency.map((n) => [n, { good: fc.constantFrom('USD', 'EUR', 'usd', 'XXX'), odd: fc.constantFrom('US', '€', '', 'USDX', '__proto__') }] as const),
  ...defaultPostbackParams.type.map((n) => [n, { good: fc.constantFrom('lead', 'deposit', 'sale'), odd: fc.constantFrom('', '__proto__', 'x'.repeat(65)) }] as const),
  ...['secret', 'key', 'token'].map((n) => [n, { good: fc.constantFrom(fixtures.networkSecret, generatedSecret), odd: fc.constantFrom('wrong-secret-123', '', generatedSecret.toUpperCase()) }] as const),
  ...['signature', 'sig'].map((n) => [n, { good: fc.constant('ab'.repeat(32)), odd: fc.constantFrom('00', 'zz', '') }] as const),
  ['ts', { good: fc.constantFrom(String(Math.floor(Date.now() / 1000)), String(Date.now())), odd: fc.constantFrom('0', '1e400', '-1', '99999999999999999999') }],
  ['from', { good: fc.constantFrom(today, '2024-01-01', `${today} 00:00`, `${today}T00:00:00.000`), odd: fc.constantFrom('2024-02-30', '0000-01-01', '9999-12-31', '2024-01-01T25:00', '1970-01-01') }],
  ['to', { good: fc.constantFrom(tomorrow, today), odd: fc.constantFrom('2023-12-31', '9999-12-31', '2024-13-01') }],
  ['tz', { good: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu', 'Etc/GMT+14'), odd: fc.constantFrom('Mars/Olympus', '+02:00', '', 'utc', '../../etc/passwd') }],
  ['groupBy', { good: fc.subarray(fixtures.dimensions, { maxLength: 3 }).map((ds) => ds.join(',')), odd: fc.array(fc.constantFrom(...fixtures.dimensions, 'nope', '__proto__', ''), { maxLength: 4 }).map((ds) => ds.join(',')) }],
  ['offerUrl', { good: fc.constantFrom('https://offer.example/?c={clickid}', 'http://x.example/{keyword}/{__proto__}?a={sub1}', 'https://пример.рф/?q={q}', `https://a.example/${'a'.repeat(1500)}`), odd: fc.constantFrom('javascript:alert(1)', 'https://a.example/\u0000', 'ftp://x', '//evil.example', 'https://a.example/\r\nSet-Cookie: x=1') }],
  ['fallbackUrl', { good: fc.constantFrom('https://fallback.example/'), odd: fc.constantFrom('data:text/html,x', 'https://a.example/\r\nSet-Cookie: x=1') }],
  ['allowIps', { good: fc.array(fc.constantFrom('1.2.3.4', '10.0.0.0/8', '::1', '::/0', '0.0.0.0/0', ' 1.2.3.4 '), { maxLength: 3 }), odd: fc.array(fc.constantFrom('not-an-ip', '999.0.0.1/33', '1.2.3.4/', ''), { minLength: 1, maxLength: 2 }) }],
  [
    'rates',
    {
      good: fc.array(fc.tuple(fc.constantFrom('EUR', 'GBP', 'JPY'), fc.oneof(fc.double({ min: 0.0001, max: 1e6, noNaN: true }), fc.constantFrom('1.1', '0,9'))), { maxLength: 3 }).map((e) => new Obj(e)),
      odd: fc.array(fc.tuple(fc.constantFrom('usd', 'XXXX', '__proto__', ''), fc.oneof(numberText.filter((n) => /^-?\d+(\.\d+)?(e-?\d+)?$/.test(n)).map((n) => new Raw(n)), numberText)), { maxLength: 3 }).map((e) => new Obj(e)),
    },
  ],
]);

type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
};
/** Plausible: what a client means to send. Noisy: near misses and anything at all mixed in. */
type Mood = 'plausible' | 'noisy';
/** A value of the route's own schema (its OpenAPI text): what it accepts, but free text is any text. */
function fromSchema(schema: Schema | undefined, mood: Mood, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 3) return mood === 'plausible' ? text : hostile;
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return fc.oneof(...union.map((s) => fromSchema(s, mood, depth + 1)));
  switch (Array.isArray(schema.type) ? schema.type[0] : schema.type) {
    case 'string':
      if (schema.pattern) {
        try {
          return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 200));
        } catch {
          return text;
        }
      }
      return text.filter((s) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? Infinity));
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1e9, -1e9), max: Math.min(schema.maximum ?? 1e9, 1e9) });
    case 'number':
      return fc.double({ min: Math.max(schema.minimum ?? -1e9, -1e9), max: Math.min(schema.maximum ?? 1e9, 1e9), noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(fromSchema(schema.items, mood, depth + 1), { maxLength: 3 });
    case 'object': {
      const props = Object.entries(schema.properties ?? {}).map(([name, s]) => ({ name, schema: s, required: schema.required?.includes(name) === true }));
      const extra = typeof schema.additionalProperties === 'object' ? fc.array(fc.tuple(text, fromSchema(schema.additionalProperties, mood, depth + 1)), { maxLength: 3 }) : fc.constant([]);
      return fc.tuple(documentedPairs(props, mood, depth + 1), extra).map(([own, more]) => new Obj([...own, ...more]));
    }
    default:
      return mood === 'plausible' ? text : hostile;
  }
}
/** A value for a named field: by its hint, else by its schema; noisy, a near miss or anything at times. */
function valueFor(name: string, schema: Schema | undefined, mood: Mood, depth = 0): fc.Arbitrary<unknown> {
  const hint = hints.get(name);
  const good = hint?.good ?? fromSchema(schema, mood, depth);
  if (mood === 'plausible') return good;
  return fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: hint?.odd ?? hostile }, { weight: 1, arbitrary: hostile });
}
/** Pairs for documented fields: the required ones (nearly always), some of the others, and, noisy, names nobody documented. */
function documentedPairs(params: readonly { name: string; schema?: Schema; required?: boolean }[], mood: Mood, depth = 0): fc.Arbitrary<Pair[]> {
  const required = params.filter((p) => p.required);
  const optional = params.filter((p) => !p.required);
  const pairsOf = (chosen: readonly { name: string; schema?: Schema }[]) => fc.tuple(...chosen.map((p) => valueFor(p.name, p.schema, mood, depth).map((v): Pair => [p.name, v])));
  return fc
    .tuple(
      mood === 'plausible' ? pairsOf(required) : fc.oneof({ weight: 9, arbitrary: fc.constant(required) }, { weight: 1, arbitrary: fc.subarray(required) }).chain(pairsOf),
      fc.subarray(optional).chain(pairsOf),
      mood === 'plausible' ? fc.constant([]) : fc.array(fc.tuple(hostileName, hostile), { maxLength: 2 }),
    )
    .map(([needed, own, more]) => [...needed, ...own, ...more]);
}
/** Either mood. */
const pairsFor = (params: readonly { name: string; schema?: Schema; required?: boolean }[]) => fc.oneof(documentedPairs(params, 'plausible'), documentedPairs(params, 'noisy'));

/** What a client can put into a URL as it is: printable ASCII but space and '#'; the rest goes percent-encoded as UTF-8 (a lone surrogate as U+FFFD). */
function inUrl(value: string): string {
  let out = '';
  for (const ch of value) out += /^[\x21-\x7e]$/.test(ch) && ch !== '#' ? ch : [...Buffer.from(ch)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  return out;
}
/** encodeURIComponent, except that a lone surrogate (which it throws on) goes as the bytes of U+FFFD. */
const encoded = (value: string) => value.replace(/[^A-Za-z0-9\-_.!~*'()]/gu, (ch) => (ch.length === 1 && /[\ud800-\udfff]/.test(ch) ? '%EF%BF%BD' : encodeURIComponent(ch)));

/** A query string (or form body) of pairs: encoded properly, sent as they are, or a name alone. */
function queryText(pairs: fc.Arbitrary<Pair[]>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(pairs, fc.constantFrom('encoded', 'raw', 'mixed')).map(([ps, how]) => ps.map(([k, v], i) => ((how === 'mixed' ? i % 2 : how === 'raw') ? `${inUrl(k)}=${inUrl(paramText(v))}` : `${encoded(k)}=${encoded(paramText(v))}`)).join('&')) },
    { weight: 1, arbitrary: fc.array(hostileName, { maxLength: 3 }).map((names) => names.map(inUrl).join('&')) },
    { weight: 1, arbitrary: text.map(inUrl) },
  );
}
/** Report filters (`filter[<dimension>]`), named in no schema: any text, so that it reaches the SQL. */
const filterPairs = fc.array(fc.tuple(fc.constantFrom(...fixtures.dimensions.map((d) => `filter[${d}]`), 'filter[nope]', 'filter[__proto__]'), text), { maxLength: 2 });
/** A postback's pairs: one name of each field (some left out), the secret sometimes, and, noisy, others. */
type Pair = readonly [string, unknown];
const postbackFields = [...Object.values(defaultPostbackParams), ['secret', 'key', 'token']];
const postbackPairs: fc.Arbitrary<Pair[]> = fc.constantFrom<Mood>('plausible', 'noisy').chain((mood) =>
  fc
    .tuple(
      fc.tuple(...postbackFields.map((names) => fc.option(fc.constantFrom(...names).chain((n) => valueFor(n, undefined, mood).map((v): Pair => [n, v])), { freq: 4 }))),
      mood === 'plausible' ? fc.constant([]) : fc.array(fc.tuple(hostileName, hostile), { maxLength: 2 }),
    )
    .map(([fields, more]) => [...fields.filter((p): p is Pair => p !== null), ...more]),
);
/** A JSON body: mostly an object of the given pairs, also any value, broken JSON and plain text. */
function jsonBody(pairs: fc.Arbitrary<Pair[]>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: pairs.map((ps) => jsonText(new Obj(ps))) },
    { weight: 2, arbitrary: hostile.map(jsonText) },
    { weight: 1, arbitrary: fc.tuple(pairs, fc.nat()).map(([ps, n]) => jsonText(new Obj(ps)).slice(0, n % (jsonText(new Obj(ps)).length + 1))) },
    { weight: 1, arbitrary: text },
  );
}

// -- Requests and what every answer must be.

interface Req {
  method: RouteInfo['method'];
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}
interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

const keys = {
  wrong: fc.constantFrom('Bearer wrong-key-0123456789', `Bearer ${adminKey}x`, `Bearer ${adminKey.slice(0, -1)}`, 'Bearer', 'Bearer  ', `Basic ${adminKey}`, `${adminKey}`, `bearer ${adminKey} extra`, 'Bearer \u00e9\u00e9'),
  report: `Bearer ${fixtures.reportKey}`,
  admin: `Bearer ${adminKey}`,
};
/** An Authorization header of each kind: none, wrong (in every malformed way), a report key, the admin key. */
const authorization = fc.oneof(
  fc.constant(undefined),
  keys.wrong,
  fc.constant(keys.report),
  fc.constant(keys.admin),
  // The scheme's case does not matter, the key's does.
  fc.constant(`bearer ${adminKey}`),
);

/**
 * A path parameter: the real object's name some of the time (a victim's for PATCH and DELETE),
 * else anything, percent-encoded and within the router's length limit (a value past it or with a
 * broken escape never reaches the route: "the router's own refusals" below sends those to every route).
 */
function paramValue(name: string, method: string, secret: string): fc.Arbitrary<string> {
  const mutates = method === 'PATCH' || method === 'DELETE';
  const real: Record<string, string[]> = {
    campaignId: [fixtures.campaignId],
    id: mutates ? [fixtures.victimCampaignId, fixtures.victimKey] : [fixtures.campaignId],
    slug: mutates ? ['victimnet'] : ['fuzznet', 'signnet'],
    network: ['fuzznet', 'signnet'],
    clickId: [fixtures.clickId],
    secret: [fixtures.networkSecret, secret],
  };
  return fc
    .oneof(
      { weight: 2, arbitrary: fc.constantFrom(...(real[name] ?? ['x'])) },
      { weight: 4, arbitrary: text.filter((s) => s.length > 0).map(encoded) },
      { weight: 1, arbitrary: fc.constantFrom('..', '%2e%2e', '%2F', '0', '-1', '00000000000000000000', '18446744073709551616', '%00', '%25', 'a'.repeat(200)) },
    )
    .filter((value) => value.length <= routerLimits.maxParamLength);
}
/** The route's URL with its parameters (and a wildcard) filled. */
function urlOf(route: RouteInfo, secret: string): fc.Arbitrary<string> {
  const parts = route.url.split(/(:\w+|\*)/).filter((p) => p.length > 0);
  return fc
    .tuple(...parts.map((p) => (p === '*' ? fc.array(paramValue('x', route.method, secret), { maxLength: 3 }).map((s) => s.join('/')) : p.startsWith(':') ? paramValue(p.slice(1), route.method, secret) : fc.constant(p))))
    .map((filled) => filled.join(''));
}

type Operation = {
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema & { required?: string[] } }> };
};
/** The route as its OpenAPI text documents it: query parameters and JSON body fields, with their schemas. */
function documented(app: FastifyInstance, route: RouteInfo): Record<'query' | 'body', { name: string; schema?: Schema; required?: boolean }[]> {
  const doc = app.swagger() as { paths?: Record<string, Record<string, Operation>> };
  const op = doc.paths?.[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
  const bodySchema = Object.values(op?.requestBody?.content ?? {})[0]?.schema;
  return {
    query: (op?.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, required: p.required === true, ...(p.schema ? { schema: p.schema } : {}) })),
    body: Object.entries(bodySchema?.properties ?? {}).map(([name, schema]) => ({ name, schema, required: bodySchema?.required?.includes(name) === true })),
  };
}

/** State a refused request must leave as it was. */
interface Snapshot {
  spooled: string;
  stored?: Record<string, unknown>;
}
/** Records spooled (or dropped): cheap, read after every refusal. */
const spooled = (app: FastifyInstance) =>
  JSON.stringify([app.keyrev.clicks.spool.stats(), app.keyrev.postbacks.spool.stats()].map((s) => [s.appended, s.dropped]));
/**
 * Rows in ClickHouse and the settings as they read (merges change neither), with the spools of
 * both apps shipped first: the app not being fuzzed would otherwise flush its last records in between.
 */
async function stored(): Promise<Record<string, unknown>> {
  for (const app of [open.app, guarded.app]) {
    await app.keyrev.clicks.flusher.drain();
    await app.keyrev.postbacks.flusher.drain();
  }
  const [row] = await engine.query<Record<string, unknown>>(
    `SELECT (SELECT count() FROM clicks) AS clicks, (SELECT count() FROM postbacks) AS postbacks, (SELECT sum(sign) FROM conversions) AS conversions,
            (SELECT toString((count(), groupBitXor(cityHash64(kind, id, doc, version)))) FROM settings FINAL) AS settings`,
  );
  return row!;
}

/** Every how-many-th request also compares ClickHouse rows and settings (a refusal's, when it is one). */
const storedSampleEvery = 10;
let sent = 0;

/** A refusal that is documented to keep what came before it: a bulk stream cut by its limits or by bad gzip. */
const keepsWhatCameBefore = (res: Answer) => res.statusCode >= 400 && /lines before .* (were|was) recorded/.test(res.body);

/** The click route's answer to a visitor of an unknown or paused campaign without a fallback: a page (its head for HEAD), and the click is recorded as missed (README). */
const isInactiveLinkPage = (req: Req, res: Answer) =>
  req.url.startsWith('/c/') &&
  res.statusCode === 404 &&
  String(res.headers['content-type']).startsWith('text/plain') &&
  res.body === (req.method === 'HEAD' ? '' : 'This link is not active.\n');

function describeExchange(req: Req, res: Answer): string {
  const payload = req.payload === undefined ? '' : ` payload=${JSON.stringify(Buffer.isBuffer(req.payload) ? `<${req.payload.length} bytes>` : req.payload.slice(0, 500))}`;
  const known = knownOpen.find((k) => k.matches(req, res));
  return `${req.method} ${req.url.slice(0, 500)} headers=${JSON.stringify(req.headers)}${payload}\n  -> ${res.statusCode} ${res.body.slice(0, 300)}${known ? `\n  KNOWN OPEN (${known.owner}): ${known.what}` : ''}`;
}

/** Sends one request to an app and checks every property of its answer. */
async function exchange(app: FastifyInstance, req: Req): Promise<Answer> {
  const sample = ++sent % storedSampleEvery === 0;
  const before: Snapshot = { spooled: spooled(app), ...(sample ? { stored: await stored() } : {}) };
  const raw = await app.inject({ method: req.method, url: req.url, headers: req.headers, ...(req.payload !== undefined ? { payload: req.payload } : {}) });
  const res: Answer = { statusCode: raw.statusCode, headers: raw.headers, body: raw.body };
  const fail = (what: string) => {
    throw new Error(`${what}\n  ${describeExchange(req, res)}`);
  };

  if (res.statusCode >= 500) fail(`a ${res.statusCode}`);
  if (res.statusCode >= 400 && !isInactiveLinkPage(req, res)) {
    if (!String(res.headers['content-type'] ?? '').startsWith('application/json')) fail('an error answer that is not JSON');
    if (req.method !== 'HEAD') {
      let body: unknown;
      try {
        body = JSON.parse(res.body);
      } catch {
        fail('an error answer whose body is not JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('an error answer that is not a JSON object');
      const shape = body as Record<string, unknown>;
      if (Object.keys(shape).sort().join(',') !== 'code,error,message,statusCode') fail('an error answer not of the shape {statusCode, code, error, message}');
      if (shape.statusCode !== res.statusCode) fail('an error body whose statusCode is not the answer status');
      const known = errorCodes[shape.code as keyof typeof errorCodes] as { status: number } | undefined;
      if (known?.status !== res.statusCode) fail('an error code that is not the registry code of its status');
      if (typeof shape.error !== 'string' || shape.error.length === 0) fail('an error answer without its status text');
      if (typeof shape.message !== 'string' || shape.message.length === 0 || /[\r\n\u2028\u2029]/.test(shape.message)) fail('an error message that is not one line');
    }
    if (!keepsWhatCameBefore(res)) {
      if (spooled(app) !== before.spooled) fail('a refused request spooled a record');
      if (before.stored) {
        const after = await stored();
        if (JSON.stringify(after) !== JSON.stringify(before.stored)) fail(`a refused request changed ClickHouse: ${JSON.stringify(before.stored)} -> ${JSON.stringify(after)}`);
      }
    }
  }
  return res;
}

/** Runs a property with the suite's seed; a failure says how to replay it alone. */
async function fuzz<T>(requests: fc.Arbitrary<T>, send: (input: T) => Promise<unknown>, numRuns: number): Promise<void> {
  // vitest -t matches the describe and test names joined by spaces, as a pattern.
  const name = (expect.getState().currentTestName ?? '').split(' > ').join(' ').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const details = await fc.check(
    fc.asyncProperty(requests, async (input) => {
      await send(input);
    }),
    { seed, numRuns, ...(replayPath ? { path: replayPath, endOnFailure: true } : {}), interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false },
  );
  if (details.failed) {
    throw new Error(
      `${fc.defaultReportMessage(details) ?? 'property failed'}\n${(details.errorInstance as Error | undefined)?.message ?? ''}\nreplay alone: FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} npx vitest run test/security/fuzz-routes.test.ts -t '^${name}$'`,
    );
  }
}

// -- Request generators by kind of route.

const bodyMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const contentTypes = [
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'text/plain',
  'application/x-ndjson',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=latin1',
  '',
];

/** /api/*, /health, /docs and whatever else: any key, its documented query and body fields and others, bodies of every type. */
function anyRouteRequests(app: FastifyInstance, route: RouteInfo, secret: string): fc.Arbitrary<Req> {
  const own = documented(app, route);
  const body = fc.oneof(
    { weight: 6, arbitrary: jsonBody(pairsFor(own.body)).map((payload) => ({ payload, type: 'application/json' })) },
    { weight: 2, arbitrary: fc.tuple(jsonBody(pairsFor(own.body)), fc.constantFrom(...contentTypes)).map(([payload, type]) => ({ payload, type })) },
  );
  return fc
    .record({
      url: urlOf(route, secret),
      query: fc.option(queryText(own.query.some((p) => p.name === 'groupBy') ? fc.tuple(pairsFor(own.query), filterPairs).map(([a, b]) => [...a, ...b]) : pairsFor(own.query)), { freq: 6 }),
      authorization,
      body: bodyMethods.has(route.method) ? fc.option(body, { freq: 8 }) : fc.constant(null),
    })
    .map(({ url, query, authorization: auth, body: b }) => ({
      method: route.method,
      url: query === null ? url : `${url}?${query}`,
      headers: { ...(auth ? { authorization: auth } : {}), ...(b && b.type ? { 'content-type': b.type } : {}) },
      ...(b ? { payload: b.payload } : {}),
    }));
}

/** /c/:campaignId: the real campaign and any other id, any query string (click parameters among others), any visitor headers. */
function clickRequests(route: RouteInfo, secret: string): fc.Arbitrary<Req> {
  const clickNames = Object.values(clickParamAliases as Record<string, readonly string[]>).flat();
  const pairs = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...clickNames, 'cost', 'kw', 'q'), hostileName), fc.oneof(text, hostile)), { maxLength: 8 });
  return fc
    .record({
      url: urlOf(route, secret),
      query: fc.option(queryText(pairs), { freq: 8 }),
      userAgent: fc.option(text.map((s) => inUrl(s).slice(0, 500))),
      referer: fc.option(text.map(inUrl)),
      forwardedFor: fc.option(fc.constantFrom('1.2.3.4', '::1', 'not-an-ip', '1.2.3.4, 5.6.7.8', '999.1.1.1', '[::1]:80')),
    })
    .map(({ url, query, userAgent, referer, forwardedFor }) => ({
      method: route.method,
      url: query === null ? url : `${url}?${query}`,
      headers: {
        ...(userAgent !== null ? { 'user-agent': userAgent } : {}),
        ...(referer !== null ? { referer } : {}),
        ...(forwardedFor !== null ? { 'x-forwarded-for': forwardedFor } : {}),
      },
    }));
}

/**
 * /postback[/:network[/:secret]]: postback fields in the query; POSTs with JSON, form, text or other
 * bodies; the right secret some of the time; for the signing network, a right signature some of the time.
 */
function postbackRequests(route: RouteInfo, secret: string): fc.Arbitrary<Req> {
  const body = fc.oneof(
    { weight: 3, arbitrary: jsonBody(postbackPairs).map((payload) => ({ payload, type: 'application/json' })) },
    { weight: 3, arbitrary: queryText(postbackPairs).map((payload) => ({ payload, type: 'application/x-www-form-urlencoded' })) },
    { weight: 1, arbitrary: text.map((payload) => ({ payload, type: 'text/plain' })) },
    { weight: 1, arbitrary: fc.tuple(jsonBody(postbackPairs), fc.constantFrom(...contentTypes)).map(([payload, type]) => ({ payload, type })) },
  );
  return fc
    .record({
      url: urlOf(route, secret),
      query: fc.option(queryText(postbackPairs), { freq: 8 }),
      globalSecret: fc.boolean(),
      body: route.method === 'POST' ? fc.option(body, { freq: 6 }) : fc.constant(null),
      signature: fc.constantFrom('right', 'right-in-query', 'wrong', 'none'),
    })
    .map(({ url, query, globalSecret, body: b, signature }) => {
      const q = [query, globalSecret ? `secret=${encodeURIComponent(secret)}` : null].filter((p) => p !== null && p !== '').join('&');
      const signed = createHmac('sha256', signingKey).update(b ? b.payload : q).digest('hex');
      const headers: Record<string, string> = { ...(b && b.type ? { 'content-type': b.type } : {}) };
      if (signature === 'right') headers['x-signature'] = signed;
      if (signature === 'wrong') headers['x-signature'] = 'ab'.repeat(32);
      const withSig = signature === 'right-in-query' ? [q, `signature=${signed}`].filter(Boolean).join('&') : q;
      return { method: route.method, url: withSig ? `${url}?${withSig}` : url, headers, ...(b ? { payload: b.payload } : {}) };
    });
}

/** /postbacks[/:network]: NDJSON streams of postback objects and any other lines, gzip and not (and broken), each way of authorising. */
function bulkRequests(route: RouteInfo, secret: string): fc.Arbitrary<Req> {
  const line = fc.oneof({ weight: 4, arbitrary: postbackPairs.map((ps) => jsonText(new Obj(ps))) }, { weight: 1, arbitrary: hostile.map(jsonText) }, text, fc.constant(''));
  return fc
    .record({
      url: urlOf(route, secret),
      lines: fc.array(line, { maxLength: 12 }),
      newline: fc.constantFrom('\n', '\r\n', '\n\n'),
      encoding: fc.constantFrom('gzip', 'gzip-broken', 'gzip-unsaid', 'identity', 'none', 'br', 'GZIP'),
      type: fc.constantFrom('application/x-ndjson', 'application/jsonl', 'application/json-seq', 'application/json', 'text/plain', ''),
      auth: fc.constantFrom('admin', 'report', 'right-secret', 'network-secret', 'wrong-secret', 'none'),
      query: fc.option(queryText(postbackPairs), { freq: 4 }),
    })
    .map(({ url, lines, newline, encoding, type, auth, query }) => {
      const plain = Buffer.from(lines.join(newline));
      const zipped = gzipSync(plain);
      const payload =
        encoding === 'gzip' || encoding === 'GZIP' || encoding === 'gzip-unsaid'
          ? zipped
          : encoding === 'gzip-broken'
            ? Buffer.concat([zipped.subarray(0, Math.max(10, zipped.length - 6)), Buffer.from('broken')])
            : plain;
      const secretParam = { 'right-secret': secret, 'network-secret': fixtures.networkSecret, 'wrong-secret': 'wrong-secret-123' }[auth as string];
      const params = [query, secretParam ? `secret=${encodeURIComponent(secretParam)}` : null].filter((p) => p !== null && p !== '');
      return {
        method: route.method,
        url: params.length > 0 ? `${url}?${params.join('&')}` : url,
        headers: {
          ...(type ? { 'content-type': type } : {}),
          ...(encoding === 'gzip' || encoding === 'gzip-broken' ? { 'content-encoding': 'gzip' } : encoding === 'none' || encoding === 'gzip-unsaid' ? {} : { 'content-encoding': encoding }),
          ...(auth === 'admin' ? { authorization: keys.admin } : auth === 'report' ? { authorization: keys.report } : {}),
        },
        payload,
      };
    });
}

type Kind = 'click' | 'postback' | 'bulk' | 'other';
function kindOf(route: RouteInfo): Kind {
  if (route.url.startsWith('/c/')) return 'click';
  if (route.url === '/postback' || route.url.startsWith('/postback/')) return 'postback';
  if (route.url === '/postbacks' || route.url.startsWith('/postbacks/')) return 'bulk';
  return 'other';
}
function requestsFor(app: FastifyInstance, route: RouteInfo, secret: string): fc.Arbitrary<Req> {
  switch (kindOf(route)) {
    case 'click':
      return clickRequests(route, secret);
    case 'postback':
      return postbackRequests(route, secret);
    case 'bulk':
      return bulkRequests(route, secret);
    default:
      return anyRouteRequests(app, route, secret);
  }
}

/** Runs per route: the ingest routes take what the Internet sends; HEAD answers as GET does, without a body. */
function runsFor(route: RouteInfo): number {
  if (route.method === 'HEAD') return 5;
  switch (kindOf(route)) {
    case 'click':
      return 100;
    case 'postback':
      return 50;
    case 'bulk':
      return 40;
    default:
      return route.url.startsWith('/api/') ? 35 : 8;
  }
}

describe('fuzz: every route (KEYREV_POSTBACK_SECRET=off)', () => {
  it('reads the routes from the app, the public ones among them', () => {
    const urls = new Set(routes.map((r) => `${r.method} ${r.url}`));
    for (const expected of ['GET /c/:campaignId', 'GET /postback', 'POST /postback/:network/:secret', 'POST /postbacks', 'GET /api/report', 'PATCH /api/networks/:slug', 'GET /health']) {
      expect(urls).toContain(expected);
    }
  });

  it("the router's own refusals: a path parameter past the length limit or with a broken escape, on every route that has one", async () => {
    const failures: string[] = [];
    for (const route of routes.filter((r) => /:\w|\*/.test(r.url))) {
      for (const value of ['a'.repeat(routerLimits.maxParamLength + 1), '%zz', '%E0%A4', '%ED%A0%80']) {
        const req: Req = { method: route.method, url: route.url.replace(/:\w+|\*/g, value), headers: { authorization: keys.admin } };
        await exchange(open.app, req).catch((err: Error) => failures.push(err.message));
      }
    }
    expect(failures).toEqual([]);
  });

  it('an empty body under each Content-Type (and none), with the admin key, on every route that takes a body', async () => {
    const failures: string[] = [];
    for (const route of routes.filter((r) => bodyMethods.has(r.method))) {
      // No fixture by name but a network's (postbacks): a DELETE or PATCH that went through would change what later tests fuzz.
      const url = route.url.replace(/:\w+/g, (p) => (p === ':network' ? 'fuzznet' : p === ':secret' ? fixtures.networkSecret : 'nothing-here'));
      for (const type of ['', 'application/json', 'application/x-ndjson', 'application/x-www-form-urlencoded', 'text/plain']) {
        const req: Req = { method: route.method, url, headers: { authorization: keys.admin, ...(type ? { 'content-type': type } : {}) }, payload: '' };
        await exchange(open.app, req).catch((err: Error) => failures.push(err.message));
      }
    }
    expect(failures).toEqual([]);
  });

  for (const route of routes) {
    const name = `${route.method} ${route.url}`;
    it(name, async () => {
      await fuzz(requestsFor(open.app, route, 'no-global-secret'), (req) => exchange(open.app, req), runsFor(route));
    });
  }

  it('still answers /health with 200', async () => {
    expect((await open.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});

describe('fuzz: postback routes with the default postback secret (generated)', () => {
  for (const route of routes.filter((r) => (kindOf(r) === 'postback' || kindOf(r) === 'bulk') && r.method !== 'HEAD')) {
    const name = `default secret: ${route.method} ${route.url}`;
    it(name, async () => {
      await fuzz(requestsFor(guarded.app, route, generatedSecret), (req) => exchange(guarded.app, req), Math.ceil(runsFor(route) / 2));
    });
  }

  it('still answers /health with 200', async () => {
    expect((await guarded.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});

