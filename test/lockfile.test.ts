import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/process.js';

describe('package-lock.json', () => {
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8'));

  it('records every optional dependency, so that `npm ci` (CI) accepts it', () => {
    const missing: string[] = [];
    for (const [key, entry] of Object.entries<{ optionalDependencies?: Record<string, string> }>(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        const nested = `${key}/node_modules/${name}`;
        if (!lock.packages[`node_modules/${name}`] && !lock.packages[nested]) missing.push(`${name} (of ${key || 'the root'})`);
      }
    }
    expect(missing, 'run `node scripts/lock-platform-packages.mjs` after `npm install`').toEqual([]);
  });
});
