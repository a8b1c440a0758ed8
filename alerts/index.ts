// The alerts module's public surface.
export { alertsPlugin, type AlertsOptions } from './plugin.js';
