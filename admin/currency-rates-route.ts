import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Auth } from './auth.js';
import { currencyRatesDoc, currencyRatesInput, type CurrencyRates } from './currency-rates.js';

/** /api/currency-rates: exchange rates into the account currency (admin key). */
export const currencyRatesRoute: FastifyPluginAsyncZod<{ rates: CurrencyRates; auth: Auth }> = async (app, { rates, auth }) => {
  app.addHook('onRequest', auth.admin);
  const tags = ['currency'];
  app.get('/api/currency-rates', { schema: { tags, response: { 200: currencyRatesDoc } } }, async () => rates.current());
  app.put('/api/currency-rates', { schema: { tags, body: currencyRatesInput, response: { 200: currencyRatesDoc } } }, async (req) => rates.replace(req.body));
};
