import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

/**
 * Debian's Chromium (`apt-get install -y chromium`), driven by playwright-core. CHROMIUM_PATH
 * overrides the location. Missing: a hard failure when CI=true, a loud skip otherwise.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const onCi = process.env.CI === 'true';

/** Whether the browser suite runs: true when Chromium is there, and always on CI (which then fails). */
export function shouldRunBrowserTests(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (onCi) return true;
  const line = '!'.repeat(78);
  console.warn(
    `\n${line}\n!! SKIPPING browser tests: no Chromium at ${CHROMIUM_PATH}\n` +
      `!! Install it (apt-get install -y chromium) or set CHROMIUM_PATH; with CI=true this fails instead.\n${line}\n`,
  );
  return false;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is required (CI=true) but ${CHROMIUM_PATH} does not exist: apt-get install -y chromium`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 15_000 });
}

/**
 * One Chromium for the tests of a describe: called in the describe's body, it launches before
 * the first test and closes after the last. Call the returned function in a test for the browser.
 */
export function useChromium(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (browser === undefined) throw new Error('useChromium(): Chromium launches in beforeAll; ask for it inside a test or hook');
    return browser;
  };
}
