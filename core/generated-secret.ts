import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StartupError } from './errors.js';

/** A secret keyrev makes itself when none is configured: the admin key, the postback secret. */
export interface GeneratedSecretSpec {
  /** The file in the data directory that keeps it across starts. */
  file: string;
  /** Put before the random part, so that a leaked secret says what it is (`kra_` an admin key). */
  prefix: string;
  /** The variable that sets it instead, for messages. */
  variable: string;
}

export interface ResolvedSecret {
  value: string;
  /** The file, when this call generated the secret: start-up prints a new secret once, never again. */
  generatedAt?: string;
}

/**
 * The configured secret when set; otherwise the one stored in the data directory, generated on
 * first start (24 random bytes, base64url: safe in a URL as it is) and written with mode 0600 and
 * fsync'd, since a secret that was printed and handed out must not vanish in a power cut.
 */
export function resolveSecret(configured: string | undefined, dataDir: string, spec: GeneratedSecretSpec): ResolvedSecret {
  if (configured) return { value: configured };
  const file = path.join(dataDir, spec.file);
  const stored = readStored(file, spec);
  if (stored !== undefined) return { value: stored };
  const value = `${spec.prefix}${randomBytes(24).toString('base64url')}`;
  let fd: number;
  try {
    // wx: never overwrite a secret another process on the same directory just made.
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { value: readStored(file, spec)! };
    throw err;
  }
  try {
    fs.writeSync(fd, `${value}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { value, generatedAt: file };
}

function readStored(file: string, spec: GeneratedSecretSpec): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StartupError(`cannot read ${file} (set ${spec.variable}, or make the file readable): ${(err as NodeJS.ErrnoException).code}`);
  }
  const value = text.trim();
  if (value === '') throw new StartupError(`${file} is empty: delete it to generate a new one, or set ${spec.variable}`);
  return value;
}
