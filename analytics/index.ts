// The analytics module's public surface.
export { analyticsPlugin } from './plugin.js';
