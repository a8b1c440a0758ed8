import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface AdminKey {
  key: string;
  /** Set when this call generated the key, so that start-up prints it once. */
  generatedAt?: string;
}

/** KEYREV_ADMIN_KEY when set; otherwise the key stored in the data directory, made on first start. */
export function resolveAdminKey(configured: string | undefined, dataDir: string): AdminKey {
  if (configured) return { key: configured };
  const file = path.join(dataDir, 'admin.key');
  if (fs.existsSync(file)) return { key: fs.readFileSync(file, 'utf8').trim() };
  const key = `kra_${randomBytes(24).toString('base64url')}`;
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, generatedAt: file };
}
