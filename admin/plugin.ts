import fs from 'node:fs';
import fp from 'fastify-plugin';
import type { Config } from '../core/config.js';
import { StartupError } from '../core/errors.js';
import { apiKeyRoute } from './api-key-route.js';
import { storedApiKey } from './api-key-schema.js';
import { ApiKeys } from './api-keys.js';
import { createAuth, type Auth } from './auth.js';
import { campaignRoute } from './campaign-route.js';
import { campaign } from './campaign-schema.js';
import { Campaigns } from './campaigns.js';
import { CurrencyRates, currencyRatesDoc, currencyRatesInput } from './currency-rates.js';
import { currencyRatesRoute } from './currency-rates-route.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandlers checking the API key (admin, or report and admin) before a body is read. */
    auth: Auth;
    campaigns: Campaigns;
    /** Exchange rates into the account currency. */
    rates: CurrencyRates;
  }
}

export type AdminOptions = Pick<Config, 'currency' | 'ratesFile'> & { adminKey: string };

/** The account: API keys and who may do what, campaigns, exchange rates. */
export const adminPlugin = fp<AdminOptions>(
  async (app, opts) => {
    const [campaignStore, keyStore, ratesStore] = await Promise.all([
      app.settings.open('campaigns', campaign),
      app.settings.open('api_keys', storedApiKey),
      app.settings.open('account_settings', currencyRatesDoc),
    ]);
    const rates = new CurrencyRates(opts.currency, ratesStore);
    if (opts.ratesFile) await rates.replace(readRatesFile(opts.ratesFile));
    const campaigns = new Campaigns(campaignStore);
    const apiKeys = new ApiKeys(keyStore);
    const auth = createAuth(opts.adminKey, apiKeys);
    app.decorate('auth', auth);
    app.decorate('campaigns', campaigns);
    app.decorate('rates', rates);

    await app.register(campaignRoute, { campaigns, auth });
    await app.register(apiKeyRoute, { apiKeys, auth });
    await app.register(currencyRatesRoute, { rates, auth });
  },
  { name: 'keyrev-admin', dependencies: ['keyrev-platform'] },
);

function readRatesFile(file: string) {
  let parsed;
  try {
    parsed = currencyRatesInput.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (err) {
    throw new StartupError(`invalid KEYREV_RATES_FILE: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!parsed.success) throw new StartupError(`invalid KEYREV_RATES_FILE: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}
