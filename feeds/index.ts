// The feeds module's public surface.
export { feedsPlugin } from './plugin.js';
