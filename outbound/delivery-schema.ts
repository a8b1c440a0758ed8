import { z } from 'zod';
import { maskHeaders, maskUrl } from '../core/masking.js';
import { isoInstant, objectId } from '../core/schemas.js';
import { deliveryStates, type AttemptRow, type DeliveryRow } from '../warehouse/outbox-store.js';

export const deliveryQuery = z.object({
  /** ISO time or date (UTC); default 24 hours ago. */
  from: isoInstant.optional(),
  /** ISO time or date (UTC), exclusive; default now. */
  to: isoInstant.optional(),
  state: z.enum(deliveryStates).optional(),
  ruleId: objectId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const deliveryParams = z.object({ id: z.string().regex(/^[0-9a-f]{32}$/, 'must be a delivery id (32 hex digits)') });

const attemptView = z.object({
  at: z.string(),
  /** The receiver's status code; null when none came (network error, timeout, refused). */
  statusCode: z.number().nullable(),
  latencyMs: z.number(),
  error: z.string(),
  /** The first bytes (up to 1 KB) of the receiver's answer. */
  answer: z.string(),
});

export const deliveryView = z.object({
  id: z.string(),
  ruleId: z.string(),
  clickId: z.string(),
  conversionType: z.string(),
  txid: z.string(),
  status: z.string(),
  method: z.enum(['GET', 'POST']),
  /** As sent, with secret query values and the URL's password masked. */
  url: z.string(),
  headers: z.record(z.string(), z.string()),
  /** Attempts made so far. */
  attempts: z.number(),
  state: z.enum(deliveryStates),
  lastStatusCode: z.number().nullable(),
  lastError: z.string(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  /** When the next attempt is due (pending or retrying), else null. */
  nextAttemptAt: z.string().nullable(),
  history: z.array(attemptView),
});

export type DeliveryView = z.infer<typeof deliveryView>;

const iso = (ms: number) => new Date(ms).toISOString();

export function toDeliveryView(d: DeliveryRow, attempts: readonly AttemptRow[] = []): DeliveryView {
  const open = d.state === 'pending' || d.state === 'retrying';
  return {
    id: d.id,
    ruleId: d.ruleId,
    clickId: d.clickId,
    conversionType: d.type,
    txid: d.txid,
    status: d.status,
    method: d.method,
    url: maskUrl(d.url),
    headers: maskHeaders(d.headers),
    attempts: d.attempts,
    state: d.state,
    lastStatusCode: d.lastStatus === 0 ? null : d.lastStatus,
    lastError: d.lastError,
    createdAt: iso(d.createdMs),
    deliveredAt: d.deliveredMs === undefined ? null : iso(d.deliveredMs),
    nextAttemptAt: open ? iso(d.nextMs) : null,
    history: attempts.map((a) => ({ at: iso(a.atMs), statusCode: a.statusCode === 0 ? null : a.statusCode, latencyMs: a.latencyMs, error: a.error, answer: a.answer })),
  };
}
