// The worker thread behind WorkerClickEncoder: encodes click segments on the second core.
import { parentPort, workerData } from 'node:worker_threads';
import { createClickRowEncoder, type ClickRowOptions } from './click-rows.js';

const encode = createClickRowEncoder(workerData as ClickRowOptions);

parentPort!.on('message', ({ id, data }: { id: number; data: Uint8Array }) => {
  try {
    const out = encode(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const bytes = new Uint8Array(out.data);
    parentPort!.postMessage({ id, data: bytes, rows: out.rows, skipped: out.skipped }, [bytes.buffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).message });
  }
});
