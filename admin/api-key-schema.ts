import { z } from 'zod';
import { isoTimestamp, objectId } from '../core/schemas.js';

export const apiKeyInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
});

/** What is stored: the SHA-256 of the key, never the key. */
export const storedApiKey = apiKeyInput.extend({
  id: objectId,
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: isoTimestamp,
});

export const apiKeyView = storedApiKey.omit({ digest: true });
export const createdApiKey = apiKeyView.extend({ key: z.string() });

export type StoredApiKey = z.infer<typeof storedApiKey>;
