import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const executablePath = '/usr/bin/chromium';

/**
 * Debian's Chromium, installed by the project itself when missing (CI machines start without
 * it; a browser download of Playwright's own cannot work here). Returns the reason when it
 * cannot be had, so the caller can skip saying why.
 */
export function ensureChromium(): string | undefined {
  if (fs.existsSync(executablePath)) return undefined;
  if (process.getuid?.() !== 0) return `${executablePath} is missing and installing it needs root (apt-get install chromium)`;
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 300_000, env });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'ignore', timeout: 600_000, env });
  } catch (err) {
    return `could not install Debian's chromium: ${(err as Error).message.split('\n')[0]}`;
  }
  return fs.existsSync(executablePath) ? undefined : `apt-get installed chromium but ${executablePath} is missing`;
}

/** `extraArgs`: e.g. `--host-resolver-rules=MAP *.test 127.0.0.1`, for pages on several local "sites". */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}
