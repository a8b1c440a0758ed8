// The admin module's public surface: what other modules may import.
export { adminPlugin, type AdminOptions } from './plugin.js';
export type { Auth } from './auth.js';
export type { Campaign } from './campaign-schema.js';
export type { CurrencyRates } from './currency-rates.js';
