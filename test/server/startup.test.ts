import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/app.js';
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
