import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorBody } from '../../server/error-handler.js';
import { errorCodes, type ErrorCode } from '../../core/errors.js';
import { repoRoot } from '../helpers/process.js';

describe('error registry', () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');

  it.each(Object.entries(errorCodes))('%s is documented in the README with its status', (code, { status }) => {
    expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
  });

  it('every code has a 4xx or 5xx status and a one-line title', () => {
    for (const [code, { status, title }] of Object.entries(errorCodes)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(title).not.toMatch(/\n/);
      expect(errorBody(code as ErrorCode, 'x\ny')).toEqual({ statusCode: status, code, error: expect.any(String), message: 'x y' });
    }
  });
});
