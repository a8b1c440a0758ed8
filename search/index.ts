// The search ads module's public surface.
export { searchPlugin, type SearchOptions } from './plugin.js';
