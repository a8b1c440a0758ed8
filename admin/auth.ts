import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { fail } from '../core/errors.js';
import { sha256 } from '../core/digest.js';

export type Role = 'admin' | 'report';

/** Report keys are looked up by the SHA-256 of what the client sent; only digests are stored. */
export interface ReportKeyLookup {
  hasDigest(hexDigest: string): boolean;
}

/**
 * Checks `Authorization: Bearer <key>`. The admin key is compared in constant time (on digests,
 * which have equal lengths whatever the client sent). `admin` and `reports` are onRequest hooks:
 * a caller without a valid key gets its 401 (a report key on the admin API its 403) before the
 * body is read or anything is validated, so it learns nothing of the schemas and costs no parsing.
 */
export function createAuth(adminKey: string, reportKeys: ReportKeyLookup) {
  const adminDigest = sha256(adminKey);

  function roleOf(request: FastifyRequest): Role | undefined {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) return undefined;
    const digest = sha256(match[1]!);
    if (timingSafeEqual(digest, adminDigest)) return 'admin';
    return reportKeys.hasDigest(digest.toString('hex')) ? 'report' : undefined;
  }

  const require = (allowed: readonly Role[]) =>
    async function checkKey(request: FastifyRequest): Promise<void> {
      const role = roleOf(request);
      if (!role) fail('KR_UNAUTHORIZED', 'missing or wrong API key (send Authorization: Bearer <key>)');
      if (!allowed.includes(role)) fail('KR_FORBIDDEN', 'this API key is read-only');
    };

  return { admin: require(['admin']), reports: require(['admin', 'report']), isAdmin: (request: FastifyRequest) => roleOf(request) === 'admin' };
}

export type Auth = ReturnType<typeof createAuth>;
