// The postback module's public surface.
export { postbacksPlugin, type PostbacksOptions } from './plugin.js';
