import { createHmac, timingSafeEqual } from 'node:crypto';
import { sameSecret } from '../../core/digest.js';
import type { KeyrevError } from '../../core/errors.js';
import { ipAllowlist } from '../../core/ip-allowlist.js';
import type { Network } from './network-schema.js';
import { refuse, secretNames } from './postback-params.js';

/** Who is calling: the network's settings, checked once per request (also for a whole NDJSON stream). */
export interface Caller {
  network: Network | undefined;
  ip: string;
}

export interface PostbackCredentials {
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

/** How the postback routes check callers and record refusals. */
export interface PostbackAccess {
  authorize(c: PostbackCredentials): Caller | KeyrevError;
  /** Records a refusal (log, metrics) and gives it back. */
  refused(r: KeyrevError, network: string, ip: string, source: string): KeyrevError;
  findNetwork(slug: string): Network | undefined;
}

export interface PostbackAuthDeps {
  findNetwork(slug: string): Network | undefined;
  /**
   * KEYREV_POSTBACK_SECRET (or the generated one): required on the global URL and from networks
   * with neither a secret nor an allowlist of their own; undefined with KEYREV_POSTBACK_SECRET=off.
   */
  globalSecret: string | undefined;
  /** Records a refusal (log, metrics) and gives it back. */
  refused(r: KeyrevError, network: string, ip: string, source: string): KeyrevError;
}

const hexSignature = /^[0-9a-f]{64}$/i;
const allowlists = new WeakMap<Network, (ip: string) => boolean>();

/**
 * Decides who may send postbacks: the network named in the URL, its IP allowlist, the secret (the
 * network's own; the global one where the network has neither a secret nor an allowlist) and, for
 * a network that signs, the HMAC signature.
 */
export function createPostbackAccess(deps: PostbackAuthDeps): PostbackAccess {
  const authorize = (c: PostbackCredentials): Caller | KeyrevError => {
    const network = c.networkSlug === undefined ? undefined : deps.findNetwork(c.networkSlug);
    if (c.networkSlug !== undefined && !network) return deps.refused(refuse('KR_NOT_FOUND', 'unknown_network', `no network ${c.networkSlug}`), c.networkSlug, c.ip, '');
    const slug = network?.slug ?? '';
    if (network && network.allowIps.length > 0 && !allowlistOf(network)(c.ip)) {
      return deps.refused(refuse('KR_FORBIDDEN', 'ip_not_allowed', `ip ${c.ip} is not in the network's allowlist`), slug, c.ip, '');
    }
    // A network's own secret or allowlist replaces the global secret for it: an operator who
    // listed the network's addresses has said who may call (checked above).
    const ownCredential = network !== undefined && (network.secret !== undefined || network.allowIps.length > 0);
    const expected = ownCredential ? network.secret : deps.globalSecret;
    if (expected !== undefined) {
      const given = c.pathSecret ?? secretNames.map((n) => c.params.get(n)).find((v) => v !== undefined);
      if (given === undefined || !sameSecret(given, expected)) return deps.refused(refuse('KR_FORBIDDEN', 'bad_secret', 'bad secret'), slug, c.ip, '');
    }
    if (network?.signingKey !== undefined && !validSignature(network.signingKey, c.signed?.())) {
      return deps.refused(refuse('KR_FORBIDDEN', 'bad_signature', 'bad signature'), slug, c.ip, '');
    }
    return { network, ip: c.ip };
  };
  return { authorize, refused: deps.refused, findNetwork: deps.findNetwork };
}

function allowlistOf(network: Network): (ip: string) => boolean {
  let check = allowlists.get(network);
  if (!check) allowlists.set(network, (check = ipAllowlist(network.allowIps)));
  return check;
}

function validSignature(key: string, signed: { data: Buffer | string; signature: string | undefined } | undefined): boolean {
  if (!signed?.signature || !hexSignature.test(signed.signature)) return false;
  const expected = createHmac('sha256', key).update(signed.data).digest();
  return timingSafeEqual(expected, Buffer.from(signed.signature, 'hex'));
}
