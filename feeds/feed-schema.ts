import { z } from 'zod';
import { isoTimestamp, objectId, plainText } from '../core/schemas.js';

export const feedPlatforms = ['google-ads', 'microsoft-ads'] as const;
export type FeedPlatform = (typeof feedPlatforms)[number];

/**
 * Statuses a feed may send. A rejected or charged-back conversion is never sent: the platforms'
 * files add conversions, they cannot take a refund, so such a conversion simply drops out.
 */
export const feedStatuses = ['lead', 'sale', 'rebill'] as const;

/** The platforms keep click ids for 90 days; older clicks cannot be credited. */
export const maxFeedDays = 90;

const statusList = z.array(z.enum(feedStatuses)).min(1).max(feedStatuses.length);

export const feedInput = z.strictObject({
  platform: z.enum(feedPlatforms).describe('google-ads: the Google Ads offline conversion import file; microsoft-ads: the Microsoft Advertising bulk offline-conversion file'),
  conversionName: plainText(100).min(1).describe("the conversion action's name in Google Ads (or the offline conversion goal's name in Microsoft Advertising), exactly as it is there"),
  statuses: statusList
    .transform((s) => [...new Set(s)])
    .default(['sale'])
    .describe('conversions whose latest status is one of these are listed (default sale); rejected and charged-back conversions never are'),
  days: z.number().int().min(1).max(maxFeedDays).default(30).describe('clicks of the last this many days are covered (default 30, at most 90)'),
});

/** What is stored: the SHA-256 of the generated password (192 random bits), never the password. */
export const storedFeed = z.object({
  id: objectId,
  platform: z.enum(feedPlatforms),
  conversionName: z.string(),
  statuses: statusList,
  days: z.number().int().min(1).max(maxFeedDays),
  username: z.string(),
  passwordDigest: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: isoTimestamp,
});
export type StoredFeed = z.infer<typeof storedFeed>;

export const feedView = storedFeed.omit({ passwordDigest: true }).extend({ url: z.string().describe('the file, served with HTTP basic auth (username and password)') });
export const createdFeed = feedView.extend({ password: z.string().describe('shown once, at creation') });
export const feedParams = z.object({ id: objectId });
