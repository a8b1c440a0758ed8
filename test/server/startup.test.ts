import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StartupError } from '../../core/errors.js';
import { EmbeddedWarehouse } from '../../warehouse/embedded.js';
import { startApp, tempDir } from '../helpers/app.js';
import { FlakyWarehouse } from '../helpers/flaky-warehouse.js';
import { freePort, spawnKeyrev, waitFor200 } from '../helpers/process.js';

/** A refused start prints exactly one line naming the cause, and no stack trace. */
async function expectOneLineRefusal(env: Record<string, string>, message: RegExp): Promise<void> {
  const run = spawnKeyrev(env);
  const code = await run.exited;
  expect(code).toBe(1);
  const lines = run.stderr().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^keyrev: cannot start: /);
  expect(lines[0]).toMatch(message);
}

/** Answers until start-up replays the postback spool, then goes away: ClickHouse lost in the middle of a start. */
class GoneAtReplay extends FlakyWarehouse {
  override async insertRaw(...args: Parameters<FlakyWarehouse['insertRaw']>): Promise<void> {
    if (args[0] === 'postbacks') this.down = true;
    return super.insertRaw(...args);
  }
}

describe('start-up', () => {
  it('serves /health with the embedded warehouse and prints a generated admin key once', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const first = spawnKeyrev({ KEYREV_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
    try {
      const res = await waitFor200(`http://127.0.0.1:${port}/health`, 30_000);
      expect(await res.json()).toMatchObject({ status: 'ok', warehouse: 'embedded' });
      const key = fs.readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
      expect(first.stdout()).toContain(key);
      const denied = await fetch(`http://127.0.0.1:${port}/api/campaigns`);
      expect(denied.status).toBe(401);
      const allowed = await fetch(`http://127.0.0.1:${port}/api/campaigns`, { headers: { authorization: `Bearer ${key}` } });
      expect(allowed.status).toBe(200);
    } finally {
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
    }
    const second = spawnKeyrev({ KEYREV_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
    try {
      await waitFor200(`http://127.0.0.1:${port}/health`, 30_000);
      expect(second.stdout()).not.toContain('generated an admin key');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('refuses a malformed CLICKHOUSE_URL', () =>
    expectOneLineRefusal({ KEYREV_DATA_DIR: tempDir(), CLICKHOUSE_URL: 'clickhouse://nowhere' }, /invalid CLICKHOUSE_URL/));

  it('refuses a ClickHouse server that does not answer, without printing its password', async () => {
    const port = await freePort();
    await expectOneLineRefusal(
      { KEYREV_DATA_DIR: tempDir(), CLICKHOUSE_URL: `http://default:s3cret@127.0.0.1:${port}/keyrev` },
      /cannot open ClickHouse at http:\/\/default:\*\*\*@127\.0\.0\.1:\d+\/keyrev: ClickHouse server unreachable: connect ECONNREFUSED/,
    );
  });

  it('refuses a data directory it cannot write', async () => {
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, '');
    await expectOneLineRefusal({ KEYREV_DATA_DIR: path.join(file, 'data') }, /data directory .* is not writable \(set KEYREV_DATA_DIR\): ENOTDIR/);
  });

  it('refuses in one line when the postback spool cannot be replayed into ClickHouse, and keeps the spool', async () => {
    const dataDir = tempDir();
    const env = { KEYREV_DATA_DIR: dataDir };
    const warehouse = new GoneAtReplay(await EmbeddedWarehouse.open(dataDir));
    try {
      const first = await startApp(env, { warehouse });
      warehouse.down = true;
      expect((await first.app.inject({ method: 'GET', url: '/postback?cid=1190958357420605440&txid=A&payout=5' })).statusCode).toBe(200);
      // Stopped while ClickHouse is down: the postback stays in the spool for the next start.
      await first.app.close();
      warehouse.down = false;

      const refused: unknown = await startApp(env, { warehouse }).then(
        async (started) => {
          await started.app.close();
          return 'started';
        },
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(StartupError);
      expect((refused as Error).message).toMatch(/^the postback spool could not be replayed into ClickHouse: injected failure: ClickHouse unreachable$/);
      const segments = fs.readdirSync(path.join(dataDir, 'spool', 'postbacks')).filter((name) => name.endsWith('.jsonl'));
      expect(segments).toHaveLength(1);
    } finally {
      await warehouse.close();
    }
  });

  it('refuses a port that is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      await expectOneLineRefusal({ KEYREV_DATA_DIR: tempDir(), PORT: String(port), HOST: '127.0.0.1' }, new RegExp(`port ${port} is already in use`));
    } finally {
      blocker.close();
    }
  });
});
