import { z } from 'zod';
import { isoTimestamp, objectId, plainText } from '../core/schemas.js';

export const apiKeyInput = z.strictObject({
  name: plainText(200).min(1),
});

/** What is stored: the SHA-256 of the key, never the key; the name read as it was saved. */
export const storedApiKey = apiKeyInput.extend({
  name: z.string(),
  id: objectId,
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: isoTimestamp,
});

export const apiKeyView = storedApiKey.omit({ digest: true });
export const createdApiKey = apiKeyView.extend({ key: z.string() });

export type StoredApiKey = z.infer<typeof storedApiKey>;
