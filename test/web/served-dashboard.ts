import fs from 'node:fs';
import path from 'node:path';
import { startApp, type TestApp } from '../helpers/app.js';
import { repoRoot } from '../helpers/process.js';

/**
 * keyrev listening on a free local port with the dashboard built (once, when web/dist is
 * missing: `npm test` builds it first), for the browser tests of test/web.
 */
export async function startServedDashboard(): Promise<{ t: TestApp; base: string }> {
  if (!fs.existsSync(path.join(repoRoot, 'web/dist/index.html'))) {
    const { build } = await import('vite');
    await build({ configFile: path.join(repoRoot, 'web/vite.config.ts'), logLevel: 'warn' });
  }
  const t = await startApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  return { t, base: `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}` };
}
