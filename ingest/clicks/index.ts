// The click module's public surface.
export { clicksPlugin, type ClicksOptions } from './plugin.js';
