// The bulk bench's client, in its own process so that the server's memory is measured alone:
// streams an NDJSON file to POST /postbacks and prints the answer. It starts sending when stdin
// ends, so that its own start-up is not timed.
//   node --import tsx bench/send-ndjson.ts <file> <url> (KEYREV_ADMIN_KEY in the environment)
import fs from 'node:fs';
import { Readable } from 'node:stream';

const [file, url] = process.argv.slice(2);
for await (const _ of process.stdin);
const res = await fetch(url!, {
  method: 'POST',
  headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${process.env.KEYREV_ADMIN_KEY}` },
  body: Readable.toWeb(fs.createReadStream(file!, { highWaterMark: 65_536 })) as ReadableStream,
  duplex: 'half',
} as RequestInit);
process.stdout.write(await res.text());
