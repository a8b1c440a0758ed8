// The costs module's public surface.
export { costsPlugin } from './plugin.js';
