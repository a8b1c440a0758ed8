import { resolveSecret, type ResolvedSecret } from '../core/generated-secret.js';

/** KEYREV_ADMIN_KEY when set; otherwise the key stored in the data directory, made on first start. */
export function resolveAdminKey(configured: string | undefined, dataDir: string): ResolvedSecret {
  return resolveSecret(configured, dataDir, { file: 'admin.key', prefix: 'kra_', variable: 'KEYREV_ADMIN_KEY' });
}
