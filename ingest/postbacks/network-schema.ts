import { z } from 'zod';
import { currencyCode, isoTimestamp, objectId, plainText } from '../../core/schemas.js';
import { isCidr } from '../../core/ip-allowlist.js';
import { conversionStatuses, duplicatePolicies } from '../../core/conversion.js';

/** The postback fields whose parameter names a network may set (defaultPostbackParams in ingest/postbacks/postback-params.ts lists the defaults). */
export const postbackFields = ['clickId', 'amount', 'txid', 'status', 'currency', 'type'] as const;
export type PostbackField = (typeof postbackFields)[number];

const paramName = z.string().trim().min(1).max(64);

const fields = {
  slug: objectId,
  name: plainText(200).min(1),
  /** Required on every postback of this network, as `/postback/:network/:secret` or a `secret` parameter. */
  secret: z.string().min(8).max(200).optional(),
  /** Addresses or CIDR ranges the network calls from; empty means any. */
  allowIps: z.array(z.string().trim().refine(isCidr, 'must be an IP address or CIDR range')).max(200),
  /** Parameter names per field; a list replaces the default names of that field. */
  params: z.partialRecord(z.enum(postbackFields), z.array(paramName).min(1).max(20)),
  /** The network's words or numeric codes -> keyrev's statuses, e.g. {"1":"sale","2":"lead","3":"rejected"}. */
  statusMap: z.record(z.string().trim().min(1).max(64), z.enum(conversionStatuses)),
  duplicates: z.enum(duplicatePolicies),
  /** HMAC-SHA256 of the body (POST) or of the query without `signature` (GET), hex, in `X-Signature` or `signature`. */
  signingKey: z.string().min(16).max(200).optional(),
  /** The currency of this network's payouts when a postback names none. */
  currency: currencyCode.optional(),
  /** The body answered on success: `OK`, `1` or a JSON object. */
  response: z.enum(['ok', '1', 'json']),
};

export const networkInput = z.strictObject({
  ...fields,
  allowIps: fields.allowIps.default([]),
  params: fields.params.default({}),
  statusMap: fields.statusMap.default({}),
  duplicates: fields.duplicates.default('ignore'),
  response: fields.response.default('ok'),
});

/** No defaults here: a PATCH changes only what it names; the slug is in every postback URL and stays. */
export const networkPatch = z
  .strictObject(fields)
  .omit({ slug: true })
  .partial()
  .refine((p) => Object.keys(p).length > 0, 'nothing to change');

// Stored settings are read as they were saved (the name unchecked), so one saved before text was checked still loads.
export const network = networkInput.extend({ name: z.string(), id: objectId, createdAt: isoTimestamp, updatedAt: isoTimestamp });

/** Secrets are write-only: the API shows whether one is set, never its value. */
export const networkView = network.omit({ secret: true, signingKey: true }).extend({ hasSecret: z.boolean(), hasSigningKey: z.boolean() });

export const networkParams = z.object({ slug: objectId });

export type Network = z.infer<typeof network>;
export type NetworkView = z.infer<typeof networkView>;
