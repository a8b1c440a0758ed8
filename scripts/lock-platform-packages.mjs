// chdb lists native packages for macOS and Linux arm64 as optional dependencies, but the npm
// registry has only the Linux x64 one. `npm install` leaves the missing ones out of
// package-lock.json, and `npm ci` then refuses the lock as out of sync. This records them in the
// lock with their platform, so `npm ci` skips them on this platform. Run it after `npm install`.
import fs from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const platforms = {
  '@chdb/lib-darwin-arm64': { cpu: ['arm64'], os: ['darwin'] },
  '@chdb/lib-darwin-x64': { cpu: ['x64'], os: ['darwin'] },
  '@chdb/lib-linux-arm64-gnu': { cpu: ['arm64'], os: ['linux'], libc: ['glibc'] },
};
const chdb = lock.packages['node_modules/chdb'];
let added = 0;
for (const [name, platform] of Object.entries(platforms)) {
  const key = `node_modules/${name}`;
  const version = chdb?.optionalDependencies?.[name];
  if (!version || lock.packages[key]) continue;
  lock.packages[key] = { version, ...platform, license: 'Apache-2.0', optional: true };
  added++;
}
const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root, ...rest.sort(([a], [b]) => a.localeCompare(b))]);
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} platform package(s) recorded`);
