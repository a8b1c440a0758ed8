import type { CurrencyRates } from '../admin/index.js';
import type { ClickIdGenerator } from '../core/click-id.js';
import { fail } from '../core/errors.js';
import { newObjectId } from '../core/ids.js';
import { formatMicros } from '../core/money.js';
import { costMatchSummary, dayBounds, findCostUpload, insertCostRows, putCostUpload, type CostRow } from '../warehouse/cost-store.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { costUploadLimits, type UploadLine } from './cost-parse.js';
import { checkCostRow } from './cost-row.js';

/** Lines listed in an answer at most, per list (the counts are always complete). */
export const listedLines = 1000;
const batchRows = 10_000;

export interface CostUploadTarget {
  campaignId: string;
  tz: string;
  /** The currency of rows without a currency column; the account currency by default. */
  currency: string | undefined;
}

export interface CostImportResult {
  uploadId: string | null;
  rows: number;
  matched: number;
  unmatched: { line: number; reason: string }[];
  rejected: { line: number; reason: string }[];
  rejectedRows: number;
  days: string[];
  spend: number;
  currency: string;
}

/**
 * Imports one upload: every good line is kept (written in batches, flat memory), every bad one
 * answered with its line and reason. Its rows start to count only when the upload record is
 * written, last: an upload cut off halfway (too large, the client gone) changes nothing, and a
 * finished one replaces the earlier uploads of the same campaign and days at once.
 */
export async function importCosts(
  deps: { warehouse: Warehouse; rates: CurrencyRates; seq: ClickIdGenerator },
  target: CostUploadTarget,
  lines: AsyncIterable<UploadLine>,
): Promise<CostImportResult> {
  const { warehouse, rates } = deps;
  const uploadId = newObjectId();
  const uploadCurrency = target.currency ?? rates.accountCurrency;
  const rejected: CostImportResult['rejected'] = [];
  let rejectedRows = 0;
  let kept = 0;
  let spendMicros = 0n;
  const days = new Set<string>();
  let batch: Omit<CostRow, 'day_start' | 'day_end'>[] = [];
  const bounds = new Map<string, { start: string; end: string }>();
  const flush = async () => {
    if (batch.length === 0) return;
    const newDays = [...new Set(batch.map((r) => r.day))].filter((d) => !bounds.has(d));
    if (newDays.length > 0) for (const [day, b] of await dayBounds(warehouse, target.tz, newDays)) bounds.set(day, b);
    await insertCostRows(
      warehouse,
      batch.map((r) => ({ ...r, day_start: bounds.get(r.day)!.start, day_end: bounds.get(r.day)!.end })),
    );
    batch = [];
  };

  for await (const item of lines) {
    if (kept + rejectedRows >= costUploadLimits.maxRows) fail('KR_PAYLOAD_TOO_LARGE', `more than ${costUploadLimits.maxRows} rows; split the upload by days`);
    const checked = 'error' in item ? item.error : checkCostRow(item.row, uploadCurrency, (c) => rates.has(c));
    if (typeof checked === 'string') {
      rejectedRows++;
      if (rejected.length < listedLines) rejected.push({ line: item.line, reason: checked });
      continue;
    }
    const spend = rates.revenueOf(checked.amountMicros, checked.currency);
    kept++;
    spendMicros += spend;
    days.add(checked.day);
    batch.push({
      upload_id: uploadId,
      campaign_id: target.campaignId,
      day: checked.day,
      tz: target.tz,
      line: item.line,
      keyword: checked.keyword,
      match_type: checked.matchType,
      adgroup: checked.adgroup,
      ad: checked.ad,
      amount: formatMicros(checked.amountMicros),
      currency: checked.currency,
      spend: formatMicros(spend),
    });
    if (batch.length >= batchRows) await flush();
  }
  await flush();

  const sortedDays = [...days].sort();
  const answer = { rows: kept, rejected, rejectedRows, days: sortedDays, spend: Number(formatMicros(spendMicros)), currency: rates.accountCurrency };
  if (kept === 0) return { ...answer, uploadId: null, matched: 0, unmatched: [] };

  const summary = await costMatchSummary(
    warehouse,
    { uploadId, campaignId: target.campaignId, tz: target.tz, firstDay: sortedDays[0]!, lastDay: sortedDays.at(-1)! },
    listedLines,
  );
  const { id: seq, ms } = deps.seq.next();
  await putCostUpload(warehouse, {
    upload_id: uploadId,
    campaign_id: target.campaignId,
    tz: target.tz,
    days: sortedDays,
    seq: seq.toString(),
    created_at: new Date(ms).toISOString().replace('T', ' ').replace('Z', ''),
    rows: kept,
    matched: summary.matched,
    spend: formatMicros(spendMicros),
    currency: rates.accountCurrency,
    deleted: 0,
    version: seq.toString(),
  });
  const unmatched = summary.unmatched.map((u) => ({
    line: Number(u.line),
    reason: `no click of the campaign on ${u.day} (${target.tz}) with keyword ${JSON.stringify(u.keyword)}${u.match_type ? `, match type ${u.match_type}` : ''}, ad group and ad as given; its spend is kept as unmatched`,
  }));
  return { ...answer, uploadId, matched: summary.matched, unmatched };
}

/** Undoes an upload: the days it covered fall back to the uploads before it (or to click costs). */
export async function deleteCostUpload(deps: { warehouse: Warehouse; seq: ClickIdGenerator }, uploadId: string): Promise<void> {
  const upload = (await findCostUpload(deps.warehouse, uploadId)) ?? fail('KR_NOT_FOUND', `no cost upload ${uploadId}`);
  await putCostUpload(deps.warehouse, {
    ...upload,
    created_at: upload.created_at.replace('T', ' ').replace('Z', ''),
    deleted: 1,
    version: deps.seq.next().id.toString(),
  });
}
