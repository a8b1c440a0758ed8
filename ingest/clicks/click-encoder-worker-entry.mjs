// Worker threads do not inherit the TypeScript loader of the main thread (Node 20), so the
// worker registers tsx itself before loading its TypeScript code.
import { register } from 'tsx/esm/api';

register();
await import('./click-encoder-worker.ts');
