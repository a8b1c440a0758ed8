// The click module's public surface.
export { clicksPlugin, type ClicksOptions } from './plugin.js';
export type { ClickOutcome, ClickRequest, ClickTracker } from './click-tracker.js';
export { clickQueryLimits } from './click-rows.js';
