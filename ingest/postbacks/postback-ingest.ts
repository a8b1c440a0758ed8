import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CurrencyRates } from '../../admin/currency-rates.js';
import type { Network } from '../../admin/network-schema.js';
import { sha256 } from '../../admin/auth.js';
import type { Metrics } from '../../core/metrics.js';
import { clickIdMs, type ClickIdGenerator } from '../../core/click-id.js';
import { conversionKey, type ConversionLedger, type Decision, type Outcome, type StoredConversion } from './conversion-ledger.js';
import { ipAllowlist } from '../../core/ip-allowlist.js';
import { formatMicros } from '../../core/money.js';
import type { PostbackLog } from './postback-log.js';
import { postbackLine } from './postback-row.js';
import { isRefusal, readPostback, refuse, type PostbackFields, type Refusal } from './postback-params.js';
import { clean, parseQuery } from '../../core/query-string.js';
import type { Spool } from '../spool/spool.js';

export const postbackQueryLimits = { maxParams: 100, maxKeyLength: 64, maxValueLength: 2048 } as const;

/** Who is calling: the network's settings, checked once per request (also for a whole NDJSON stream). */
export interface Caller {
  network: Network | undefined;
  ip: string;
}

export interface PostbackAuth {
  networkSlug: string | undefined;
  /** `/postback/:network/:secret`, or undefined when the secret comes as a parameter. */
  pathSecret: string | undefined;
  ip: string;
  /** Parameters that may carry the secret or signature (the query string). */
  params: ReadonlyMap<string, string>;
  /**
   * What the signature covers (the raw body of a POST, else the query string without
   * `signature`) and the signature; asked for only when the network signs its postbacks.
   */
  signed: (() => { data: Buffer | string; signature: string | undefined }) | undefined;
}

export type Accepted = { outcome: Outcome; postbackId: string; durable: boolean };

/** A postback of a batch left unrecorded because ClickHouse could not be asked about it: sent again later, it is decided then. */
export type Unrecorded = { unrecorded: string };

/** A postback's fields as read, with the account currency filled in and its conversion's key. */
type Postback = PostbackFields & { key: string; clickMs: number };

/** A postback decided from memory: its spool line, and the decision to take back if the line is lost. */
interface Decided {
  key: string;
  decision: Decision;
  line: string;
  postbackId: string;
}

export interface PostbackDeps {
  findNetwork(slug: string): Network | undefined;
  /** KEYREV_POSTBACK_SECRET: required from callers of a network without a secret of its own. */
  globalSecret: string | undefined;
  ids: ClickIdGenerator;
  ledger: ConversionLedger;
  /** The conversions of these clicks as ClickHouse has them, for keys the ledger does not know. */
  findConversions(clickIds: readonly bigint[]): Promise<StoredConversion[]>;
  rates: CurrencyRates;
  spool: Spool;
  /** Waits while the spool holds more than this that ClickHouse is busy taking (Flusher.keepPace). */
  keepPace(maxBacklogBytes: number): Promise<void>;
  log: PostbackLog;
  metrics: Metrics;
}

const secretNames = ['secret', 'key', 'token'];
const allowlists = new WeakMap<Network, (ip: string) => boolean>();

/**
 * Decides every postback: who may send it (network, secret, IP, signature), what it says, and
 * what it does to its conversion (ConversionLedger). An accepted postback is appended to the
 * durable spool before it is acknowledged; a refused one changes nothing and is logged.
 */
export class PostbackIngest {
  /** One ClickHouse lookup per key at a time; concurrent retries wait for the same one. */
  private readonly lookups = new Map<string, Promise<void>>();
  /** Clicks to look up together: the keys asked for in one event-loop turn share one query. */
  private batch: { clickIds: Set<bigint>; keys: string[]; done: Promise<void> } | undefined;

  constructor(private readonly deps: PostbackDeps) {}

  network(slug: string): Network | undefined {
    return this.deps.findNetwork(slug);
  }

  authorize(a: PostbackAuth): Caller | Refusal {
    const network = a.networkSlug === undefined ? undefined : this.deps.findNetwork(a.networkSlug);
    if (a.networkSlug !== undefined && !network) return this.refused(refuse(404, 'unknown_network', `no network ${a.networkSlug}`), a.networkSlug, a.ip, '');
    const slug = network?.slug ?? '';
    if (network && network.allowIps.length > 0 && !allowlistOf(network)(a.ip)) {
      return this.refused(refuse(403, 'ip_not_allowed', `ip ${a.ip} is not in the network's allowlist`), slug, a.ip, '');
    }
    const expected = network?.secret ?? this.deps.globalSecret;
    if (expected !== undefined) {
      const given = a.pathSecret ?? secretNames.map((n) => a.params.get(n)).find((v) => v !== undefined);
      if (given === undefined || !timingSafeEqual(sha256(given), sha256(expected))) {
        return this.refused(refuse(403, 'bad_secret', 'bad secret'), slug, a.ip, '');
      }
    }
    if (network?.signingKey !== undefined && !validSignature(network.signingKey, a.signed?.())) {
      return this.refused(refuse(403, 'bad_signature', 'bad signature'), slug, a.ip, '');
    }
    return { network, ip: a.ip };
  }

  /** One postback's parameters from an authorized caller; resolves once it is durable. */
  async accept(caller: Caller, params: ReadonlyMap<string, string>, source: string): Promise<Accepted | Refusal> {
    const fields = this.read(caller, params, source);
    return isRefusal(fields) ? fields : this.acceptFields(caller, fields);
  }

  /**
   * The postbacks of one caller in order (a batch of NDJSON lines). Those the ledger can decide
   * from memory are decided at once and go to the spool in one append; the others wait for their
   * ClickHouse lookup as single ones do (a later line of the same conversion waits with them, so
   * the order holds). Resolves with each one's answer once it is durable (or could not be).
   */
  async acceptMany(caller: Caller, batch: readonly { params: ReadonlyMap<string, string>; source: string }[]): Promise<(Accepted | Refusal | Unrecorded)[]> {
    const answers: (Accepted | Refusal | Unrecorded | Promise<Accepted | Unrecorded>)[] = [];
    const decided: Decided[] = [];
    /** Where each decided postback's answer goes in `answers`. */
    const places: number[] = [];
    for (const { params, source } of batch) {
      const fields = this.read(caller, params, source);
      if (isRefusal(fields)) {
        answers.push(fields);
      } else if (!this.deps.ledger.knows(fields.key, fields.clickMs)) {
        // Only the lookup can fail (WarehouseError); the other lines of the batch stand.
        answers.push(this.acceptFields(caller, fields).catch(() => ({ unrecorded: 'ClickHouse could not be asked about this older conversion' })));
      } else {
        places.push(answers.length);
        answers.push(undefined as never); // its place, answered once the batch's append is done
        decided.push(this.decide(caller, fields));
      }
    }
    if (decided.length > 0) {
      const durable = await this.deps.spool.append(decided.map((d) => d.line).join(''), decided.length);
      this.settle(caller, decided, durable).forEach((answer, i) => (answers[places[i]!] = answer));
    }
    // Most batches have nothing to wait for; Promise.all would still make a promise per line.
    return answers.some((a) => a instanceof Promise) ? Promise.all(answers) : (answers as (Accepted | Refusal | Unrecorded)[]);
  }

  /** Reads a postback's fields; a refusal is logged and counted here. */
  private read(caller: Caller, params: ReadonlyMap<string, string>, source: string): Postback | Refusal {
    const d = this.deps;
    const fields = readPostback(params, caller.network);
    if (isRefusal(fields)) return this.refused(fields, caller.network?.slug ?? '', caller.ip, source);
    const currency = fields.currency || d.rates.accountCurrency;
    if (!d.rates.has(currency)) {
      d.log.add({ kind: 'warning', reason: 'no_rate', message: `no exchange rate for ${currency}: revenue counted as 0 until rates are loaded`, network: caller.network?.slug ?? '', ip: caller.ip, source });
      d.metrics.postbackWarnings.inc({ reason: 'no_rate' });
    }
    const { clickId, amountMicros, txid, status, type, extra } = fields;
    return { clickId, amountMicros, txid, status, currency, type, extra, key: conversionKey(clickId, type, txid), clickMs: clickIdMs(clickId) };
  }

  private async acceptFields(caller: Caller, fields: Postback): Promise<Accepted> {
    // Throws WarehouseError while ClickHouse cannot answer: a 503, and the network retries later.
    if (!this.deps.ledger.knows(fields.key, fields.clickMs)) await this.lookUp(fields.key, fields.clickId);
    const decided = this.decide(caller, fields);
    const durable = await this.deps.spool.append(decided.line);
    return this.settle(caller, [decided], durable)[0]!;
  }

  /** What the postback does to its conversion, and its spool line; synchronous, so retries racing on the event loop cannot both count. */
  private decide(caller: Caller, fields: Postback): Decided {
    const d = this.deps;
    const network = caller.network;
    const slug = network?.slug ?? '';
    const { key, currency } = fields;
    const { id, ms } = d.ids.next();
    const decision = d.ledger.decide({
      key,
      clickMs: fields.clickMs,
      status: fields.status,
      amountMicros: fields.amountMicros,
      currency,
      network: slug,
      atMs: ms,
      version: id,
      policy: network?.duplicates ?? 'ignore',
    });
    const amount = fields.amountMicros ?? 0n;
    const replaces = decision.outcome === 'transition' || decision.outcome === 'update' || decision.outcome === 'add' ? decision.prev : undefined;
    const next = decision.next;
    const postbackId = id.toString();
    const line = postbackLine({
      postback_id: postbackId,
      received_at: ms,
      click_id: fields.clickId.toString(),
      network: slug,
      txid: fields.txid,
      conversion_type: fields.type,
      status: fields.status,
      amount: formatMicros(amount),
      currency,
      params: fields.extra,
      outcome: decision.outcome,
      ip: caller.ip,
      revenue: formatMicros(d.rates.revenueOf(amount, currency)),
      conv_network: next?.network ?? '',
      conv_status: next?.status ?? '',
      conv_amount: formatMicros(next?.amountMicros ?? 0n),
      conv_currency: next?.currency ?? '',
      conv_revenue: formatMicros(next?.revenueMicros ?? 0n),
      converted_at: next?.convertedAtMs ?? ms,
      // Only a change of an existing conversion cancels its old row; 'new' under the "new" policy adds one beside it.
      prev_version: replaces ? replaces.version.toString() : '0',
      prev_status: replaces?.status ?? '',
      prev_amount: formatMicros(replaces?.amountMicros ?? 0n),
      prev_currency: replaces?.currency ?? '',
      prev_revenue: formatMicros(replaces?.revenueMicros ?? 0n),
    });
    return { key, decision, line, postbackId };
  }

  /**
   * Answers postbacks whose append is done. Not durable: their decisions are taken back, newest
   * first (a later one of the same conversion was made on top of an earlier one).
   */
  private settle(caller: Caller, decided: readonly Decided[], durable: boolean): Accepted[] {
    if (!durable) for (let i = decided.length - 1; i >= 0; i--) this.deps.ledger.undo(decided[i]!.key, decided[i]!.decision);
    const counts = new Map<Outcome | 'lost', number>();
    for (const { decision } of decided) {
      const result = durable ? decision.outcome : 'lost';
      counts.set(result, (counts.get(result) ?? 0) + 1);
    }
    const network = caller.network?.slug ?? '';
    for (const [result, n] of counts) this.deps.metrics.postbacks.inc({ network, result }, n);
    return decided.map(({ decision, postbackId }) => ({ outcome: decision.outcome, postbackId, durable }));
  }

  private lookUp(key: string, clickId: bigint): Promise<void> {
    const pending = this.lookups.get(key);
    if (pending) return pending;
    const batch = (this.batch ??= this.startBatch());
    batch.clickIds.add(clickId);
    batch.keys.push(key);
    this.lookups.set(key, batch.done);
    return batch.done;
  }

  private startBatch(): NonNullable<PostbackIngest['batch']> {
    const clickIds = new Set<bigint>();
    const keys: string[] = [];
    const done = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        this.batch = undefined;
        this.deps.metrics.ledgerLookups.inc();
        return this.deps.findConversions([...clickIds]);
      })
      .then((found) => {
        for (const c of found) this.deps.ledger.load(conversionKey(c.clickId, c.type, c.txid), c.state, clickIdMs(c.clickId));
      })
      .finally(() => {
        for (const key of keys) this.lookups.delete(key);
      });
    return { clickIds, keys, done };
  }

  /**
   * A bulk stream waits here while the spool's backlog is past `maxBacklogBytes`: it then runs at
   * the speed of the inserts, and what the ledger must keep for postbacks still in the spool
   * stays bounded. While ClickHouse is down nothing waits (the spool takes the stream).
   */
  keepPace(maxBacklogBytes: number): Promise<void> {
    return this.deps.keepPace(maxBacklogBytes);
  }

  /** Counts and logs a refusal; the caller answers it. */
  refused(r: Refusal, network: string, ip: string, source: string): Refusal {
    this.deps.log.add({ kind: 'refused', reason: r.reason, message: r.message, network, ip, source });
    this.deps.metrics.postbackRefusals.inc({ reason: r.reason });
    return r;
  }
}

function allowlistOf(network: Network): (ip: string) => boolean {
  let check = allowlists.get(network);
  if (!check) allowlists.set(network, (check = ipAllowlist(network.allowIps)));
  return check;
}

const hexSignature = /^[0-9a-f]{64}$/i;
const signatureParam = /^(?:signature|sig)(?:=|$)/i;

function validSignature(key: string, signed: { data: Buffer | string; signature: string | undefined } | undefined): boolean {
  if (!signed?.signature || !hexSignature.test(signed.signature)) return false;
  const expected = createHmac('sha256', key).update(signed.data).digest();
  return timingSafeEqual(expected, Buffer.from(signed.signature, 'hex'));
}

/** Parameters of a form body or query string, and the query string without its signature (what GET signs). */
export function queryParams(raw: string): Map<string, string> {
  return parseQuery(raw, postbackQueryLimits).params;
}

export function withoutSignature(rawQuery: string): string {
  return rawQuery
    .split('&')
    .filter((pair) => !signatureParam.test(pair))
    .join('&');
}

/**
 * A JSON body's top-level values as parameters (numbers and booleans as text); nested objects are
 * not postback fields and are left out. undefined when the text is not a JSON object.
 */
export function jsonParams(text: string): Map<string, string> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const params = new Map<string, string>();
  const fields = value as Record<string, unknown>;
  for (const k in fields) {
    if (params.size >= postbackQueryLimits.maxParams) break;
    const v = fields[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      params.set(clean(k, postbackQueryLimits.maxKeyLength), clean(String(v), postbackQueryLimits.maxValueLength));
    }
  }
  return params;
}
