import { clickIdMs, type ClickIdGenerator } from '../../core/click-id.js';
import type { ConversionEvent, Outcome } from '../../core/conversion.js';
import { KeyrevError, isKeyrevError } from '../../core/errors.js';
import type { EventBus, KeyrevEvents } from '../../core/events.js';
import type { Metrics } from '../../core/metrics.js';
import { formatMicros } from '../../core/money.js';
import type { Caller } from './postback-auth.js';
import { conversionKey, type ConversionLedger, type Decision } from './conversion-ledger.js';
import type { ConversionLookups } from './conversion-lookups.js';
import type { LogShare, PostbackLog } from './postback-log.js';
import { postbackLine } from './postback-row.js';
import { preview, readPostback, refuse, type PostbackFields } from './postback-params.js';
import { platformIdOfParams, type PlatformClicks } from '../../core/platform-clicks.js';

export type Accepted = { outcome: Outcome; postbackId: string; durable: boolean };

/** A postback's fields as read, with the account currency filled in and its conversion's key. */
type Postback = PostbackFields & { key: string; clickMs: number };

/** A postback that names its click only by an ad platform's click id this process does not remember: ClickHouse is asked. */
type NeedsClick = { platformId: string };

/** A postback decided from memory: its spool line, and the decision to take back if the line is lost. */
interface Decided {
  fields: Postback;
  decision: Decision;
  line: string;
  id: bigint;
  ms: number;
}

/** What postbacks need of the currency rates (admin's CurrencyRates). */
export interface RevenueRates {
  readonly accountCurrency: string;
  has(currency: string): boolean;
  revenueOf(amountMicros: bigint, currency: string): bigint;
}

export interface PostbackDeps {
  ids: ClickIdGenerator;
  ledger: ConversionLedger;
  lookups: ConversionLookups;
  platformClicks: Pick<PlatformClicks, 'recent' | 'find'>;
  rates: RevenueRates;
  spool: { append(lines: string, records?: number): Promise<boolean> };
  log: PostbackLog;
  metrics: Metrics;
  events: EventBus<KeyrevEvents>;
  /** Records a refusal (log, metrics) and gives it back. */
  refused(r: KeyrevError, network: string, ip: string, source: string): KeyrevError;
}

/**
 * Decides what each postback of an authorized caller says and what it does to its conversion
 * (ConversionLedger). An accepted postback is appended to the durable spool before it is
 * acknowledged, then published as a `conversion` event; a refused one changes nothing and is logged.
 */
export class PostbackIngest {
  constructor(private readonly deps: PostbackDeps) {}

  /** One postback's parameters from an authorized caller; resolves once it is durable. */
  async accept(caller: Caller, params: ReadonlyMap<string, string>, source: string): Promise<Accepted | KeyrevError> {
    const read = this.read(caller, params, source);
    const fields = 'platformId' in read ? await this.readByPlatformId(caller, params, source, read.platformId) : read;
    return isKeyrevError(fields) ? fields : this.acceptFields(caller, fields);
  }

  /**
   * The postbacks of one caller in order (a batch of NDJSON lines). Those the ledger can decide
   * from memory are decided at once and go to the spool in one append; the others wait for their
   * ClickHouse lookup as single ones do (a later line of the same conversion waits with them, so
   * the order holds). Resolves with each one's answer once it is durable (or could not be): a
   * line whose lookup failed is answered KR_WAREHOUSE_UNAVAILABLE, to be sent again. `share`:
   * the stream's share of the postback log, shared by all its batches.
   */
  async acceptMany(caller: Caller, batch: readonly { params: ReadonlyMap<string, string>; source: string }[], share?: LogShare): Promise<(Accepted | KeyrevError)[]> {
    const answers: (Accepted | KeyrevError | Promise<Accepted | KeyrevError>)[] = [];
    const decided: Decided[] = [];
    /** Where each decided postback's answer goes in `answers`. */
    const places: number[] = [];
    for (const { params, source } of batch) {
      const fields = this.read(caller, params, source, share);
      if (isKeyrevError(fields)) {
        answers.push(fields);
      } else if ('platformId' in fields) {
        const found = this.readByPlatformId(caller, params, source, fields.platformId, share);
        answers.push(found.then((f): Promise<Accepted | KeyrevError> | KeyrevError => (isKeyrevError(f) ? f : this.acceptFields(caller, f))).catch(() => unrecorded('its click')));
      } else if (!this.deps.ledger.knows(fields.key, fields.clickMs)) {
        // Only the lookup can fail (WarehouseError); the other lines of the batch stand.
        answers.push(this.acceptFields(caller, fields).catch(() => unrecorded('this older conversion')));
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
    return answers.some((a) => a instanceof Promise) ? Promise.all(answers) : (answers as (Accepted | KeyrevError)[]);
  }

  /**
   * Reads a postback's fields; a refusal or warning is logged and counted here. A postback naming
   * its click only by a platform click id this process does not remember needs ClickHouse first.
   */
  private read(caller: Caller, params: ReadonlyMap<string, string>, source: string, share?: LogShare, platformClick?: bigint): Postback | KeyrevError | NeedsClick {
    const d = this.deps;
    let fields = readPostback(params, caller.network, platformClick);
    if (isKeyrevError(fields) && fields.reason === 'missing_click_id') {
      const platformId = platformIdOfParams(params);
      const known = platformId === undefined ? undefined : d.platformClicks.recent(platformId);
      if (platformId !== undefined && known === undefined) return { platformId };
      if (known !== undefined) fields = readPostback(params, caller.network, known);
    }
    return isKeyrevError(fields) ? this.refusal(fields, caller, source, share) : this.withKey(fields, caller, source, share);
  }

  /** A postback that names its click by an ad platform's click id only: read with the click ClickHouse has for it, or refused. */
  private async readByPlatformId(caller: Caller, params: ReadonlyMap<string, string>, source: string, platformId: string, share?: LogShare): Promise<Postback | KeyrevError> {
    const clickId = (await this.deps.platformClicks.find([platformId])).get(platformId);
    if (clickId === undefined) {
      const refusal = refuse('KR_NOT_FOUND', 'unknown_platform_click', `no click with the ad platform's click id ${preview(platformId)}`);
      return this.refusal(refusal, caller, source, share);
    }
    const fields = this.read(caller, params, source, share, clickId);
    // read() asks for no lookup once it has a click.
    return 'platformId' in fields ? this.refusal(refuse('KR_BAD_REQUEST', 'missing_click_id', 'missing click id'), caller, source, share) : fields;
  }

  /** Logs and counts a refusal; a bulk stream's refusals past its share of the log are only counted. */
  private refusal(refused: KeyrevError, caller: Caller, source: string, share: LogShare | undefined): KeyrevError {
    const d = this.deps;
    const slug = caller.network?.slug ?? '';
    if (!share || share.admit(d.log, slug, caller.ip, source)) return d.refused(refused, slug, caller.ip, source);
    d.metrics.postbackRefusals.inc({ reason: refused.reason ?? refused.code });
    return refused;
  }

  /** The fields with the account currency filled in and the conversion's key; a missing exchange rate is a warning. */
  private withKey(fields: PostbackFields, caller: Caller, source: string, share: LogShare | undefined): Postback {
    const d = this.deps;
    const slug = caller.network?.slug ?? '';
    const currency = fields.currency || d.rates.accountCurrency;
    if (!d.rates.has(currency)) {
      if (!share || share.admit(d.log, slug, caller.ip, source)) {
        d.log.add({ kind: 'warning', reason: 'no_rate', message: `no exchange rate for ${currency}: revenue counted as 0 until rates are loaded`, network: slug, ip: caller.ip, source });
      }
      d.metrics.postbackWarnings.inc({ reason: 'no_rate' });
    }
    const { clickId, amountMicros, txid, status, type, extra } = fields;
    return { clickId, amountMicros, txid, status, currency, type, extra, key: conversionKey(clickId, type, txid), clickMs: clickIdMs(clickId) };
  }

  private async acceptFields(caller: Caller, fields: Postback): Promise<Accepted> {
    // Throws WarehouseError while ClickHouse cannot answer: a 503, and the network retries later.
    if (!this.deps.ledger.knows(fields.key, fields.clickMs)) await this.deps.lookups.lookUp(fields.key, fields.clickId);
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
    const line = postbackLine({
      postback_id: id.toString(),
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
    return { fields, decision, line, id, ms };
  }

  /**
   * Answers postbacks whose append is done. Not durable: their decisions are taken back, newest
   * first (a later one of the same conversion was made on top of an earlier one). Durable: each
   * is published, in order, once it can no longer be lost.
   */
  private settle(caller: Caller, decided: readonly Decided[], durable: boolean): Accepted[] {
    if (!durable) for (let i = decided.length - 1; i >= 0; i--) this.deps.ledger.undo(decided[i]!.fields.key, decided[i]!.decision);
    const counts = new Map<Outcome | 'lost', number>();
    for (const { decision } of decided) {
      const result = durable ? decision.outcome : 'lost';
      counts.set(result, (counts.get(result) ?? 0) + 1);
    }
    const network = caller.network?.slug ?? '';
    for (const [result, n] of counts) this.deps.metrics.postbacks.inc({ network, result }, n);
    if (durable && this.deps.events.has('conversion')) for (const d of decided) this.deps.events.emit('conversion', conversionEvent(d, network));
    return decided.map(({ decision, id }) => ({ outcome: decision.outcome, postbackId: id.toString(), durable }));
  }
}

function unrecorded(what: string): KeyrevError {
  return new KeyrevError('KR_WAREHOUSE_UNAVAILABLE', `ClickHouse could not be asked about ${what}`, 'unrecorded');
}

function conversionEvent({ fields, decision, id, ms }: Decided, network: string): ConversionEvent {
  return {
    outcome: decision.outcome,
    postbackId: id,
    receivedAtMs: ms,
    clickId: fields.clickId,
    type: fields.type,
    txid: fields.txid,
    network,
    state: decision.next,
    previous: decision.prev,
  };
}
