import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The landing-page script as served: its text with its version (a hash of it), and gzipped once. */
export interface LandingScript {
  version: string;
  text: Buffer;
  gzip: Buffer;
  etag: string;
}

/**
 * Reads the script once at start. It is sent as written (comments and all, a few kB): a
 * minifier would be one more build step for ~1 kB gzipped; the version is the hash of the text,
 * so a cached copy is told apart from a newer keyrev's by its ETag.
 */
export function loadLandingScript(): LandingScript {
  // A path, not new URL('./lp.js', import.meta.url), which bundlers and vitest take for an import.
  const source = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'lp.js'), 'utf8');
  const version = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const text = Buffer.from(source.replace('__VERSION__', version));
  return { version, text, gzip: gzipSync(text, { level: 9 }), etag: `"${version}"` };
}
