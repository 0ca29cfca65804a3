import { chromium } from 'playwright-core';
const t0 = Date.now();
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
console.log('launched', Date.now() - t0, browser.version());
const page = await browser.newPage();
await page.setContent('<p>hi</p>');
console.log(await page.textContent('p'));
await browser.close();
console.log('closed', Date.now() - t0);
