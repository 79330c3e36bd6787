/**
 * Headless Chromium for browser tests: Debian's `chromium`, driven by playwright-core. The flags
 * keep it off the network (this machine's network is closed; without them Chromium tries to
 * reach Google's services at start) and let it run as root in a container.
 */

import { spawnSync } from 'node:child_process';
import { type Browser, chromium } from 'playwright-core';

/** chromiumPath is where Debian installs Chromium (override with VOUCH_CHROMIUM). */
export const chromiumPath = process.env.VOUCH_CHROMIUM ?? '/usr/bin/chromium';

/**
 * chromiumMissing is the reason browser tests are skipped, or undefined when Chromium runs.
 * Under CI a missing Chromium is a failure, not a skip.
 */
export function chromiumMissing(): string | undefined {
  const r = spawnSync(chromiumPath, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error === undefined && r.status === 0) return undefined;
  const reason = `${chromiumPath} does not run (apt-get install chromium)`;
  if (process.env.CI) throw new Error(`CI requires Chromium: ${reason}`);
  return reason;
}

/** launchChromium starts a headless Chromium (Playwright gives it a fresh profile) with no background networking. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
