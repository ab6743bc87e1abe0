// Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core (no
// browser download), with the flags that keep it off the network and a fresh profile. A missing
// browser fails the test with what to install; nothing is skipped.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.MMIT_CHROMIUM ?? '/usr/bin/chromium';

export class ChromiumMissingError extends Error {
  override name = 'ChromiumMissingError';
  constructor(path: string) {
    super(
      `no Chromium at ${path}: the console's browser tests need it. Install it with \`apt-get install -y chromium\` (Debian) or point MMIT_CHROMIUM at a Chromium binary.`,
    );
  }
}

export interface HeadlessBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * `enforceCsp`: keep the page's Content-Security-Policy in force (the default bypasses it, see
 * below); only locators and CDP evaluation work then, which is what a CSP check needs.
 */
export async function launchChromium(options: { enforceCsp?: boolean } = {}): Promise<HeadlessBrowser> {
  if (!existsSync(CHROMIUM_PATH)) throw new ChromiumMissingError(CHROMIUM_PATH);
  const profile = await mkdtemp(join(tmpdir(), 'mmit-chromium-'));
  // A persistent context is how playwright takes --user-data-dir: a fresh, empty profile here.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    // The console's CSP forbids eval and inline scripts; the tests' probes and axe need both.
    bypassCSP: !options.enforceCsp,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
