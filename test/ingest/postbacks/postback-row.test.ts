import { describe, expect, it } from 'vitest';
import { compactLine } from '../../../warehouse/compact-row.js';
import { postbackColumns, postbackLine, type PostbackRow } from '../../../ingest/postbacks/postback-row.js';

describe('postbackLine', () => {
  it('lists every column in postbackColumns order (what the insert names)', () => {
    // Each column holds its own name, so a value out of place or missing shows.
    const row = Object.fromEntries(postbackColumns.map((c) => [c, c === 'params' ? { sub: 'a"b' } : c])) as PostbackRow;
    const line = postbackLine(row);
    expect(line).toBe(compactLine(postbackColumns, row));
    expect(JSON.parse(line)).toHaveLength(postbackColumns.length);
    expect(line.endsWith(']\n')).toBe(true);
  });
});
