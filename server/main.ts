import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolveAdminKey } from './admin-key.js';
import { buildApp } from './app.js';
import { loadConfig } from '../core/config.js';
import { StartupError } from '../core/errors.js';
import { withTimeout } from '../core/timeout.js';

/** `npm start`: one process serving ingest, APIs and the dashboard on PORT. */
async function main(): Promise<void> {
  const config = loadConfig();
  prepareDataDir(config.dataDir);
  const admin = resolveAdminKey(config.adminKey, config.dataDir);
  const app = await withTimeout(
    buildApp({ config, adminKey: admin.value }),
    config.startupTimeoutMs,
    () => new StartupError(`warehouse not ready within ${config.startupTimeoutMs} ms (KEYREV_STARTUP_TIMEOUT_MS)`),
  );
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new StartupError(`port ${config.port} is already in use (set PORT)`);
    if (code === 'EACCES') throw new StartupError(`no permission to listen on port ${config.port} (set PORT)`);
    if (code === 'EADDRNOTAVAIL') throw new StartupError(`cannot bind to HOST ${config.host}`);
    throw err;
  }
  if (admin.generatedAt) {
    console.log(`keyrev: generated an admin key (stored in ${admin.generatedAt}): ${admin.value}`);
  }
  const postbacks = app.postbackSecret;
  if (postbacks.generated) {
    const url = `${baseUrl(config.host, (app.server.address() as AddressInfo).port)}/postback?cid={clickid}&payout={payout}&txid={txid}&status={status}&secret=${postbacks.generated.secret}`;
    console.log(`keyrev: generated a postback secret (stored in ${postbacks.generated.file}); give networks this postback URL: ${url}`);
  }
  if (postbacks.mode === 'off') {
    console.warn('keyrev: warning: KEYREV_POSTBACK_SECRET=off: postbacks need no secret, so anyone who learns a click id can record conversions');
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.log.info({ signal }, 'shutting down');
      app.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

/** Where this process answers, as a URL; listening on every interface, this machine's name for it. */
function baseUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

function prepareDataDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new StartupError(`data directory ${dir} is not writable (set KEYREV_DATA_DIR): ${(err as NodeJS.ErrnoException).code}`);
  }
}

main().catch((err: unknown) => {
  if (err instanceof StartupError) {
    console.error(`keyrev: cannot start: ${err.message}`);
  } else {
    console.error('keyrev: cannot start: unexpected error');
    console.error(err);
  }
  process.exit(1);
});
