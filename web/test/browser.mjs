// browser.mjs — launches Debian's Chromium headless through playwright-core, for the browser test and bench/web.
import fs from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export function chromiumMissing() {
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} not installed (apt-get install chromium)`;
  return false;
}

export async function launch() {
  const { chromium } = await import('playwright-core');
  // --no-sandbox: containers often lack user namespaces; the page is our own localhost content
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}
