// The outgoing postbacks module's public surface.
export { outboundPlugin, type OutboundOptions, type OutboundHandle } from './plugin.js';
