import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is plain TypeScript + d3, built to web/dist and served by keyrev at /.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  // No source maps: whatever is in dist/ is served to anyone, and the source is in the repository.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  logLevel: 'warn',
});
