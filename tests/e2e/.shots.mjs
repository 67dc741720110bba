import { consoleKit, launchChromium } from './console-kit.mjs';
const [,, base, user, pass, newPass, out, url, ...selectors] = process.argv;
const kit = consoleKit({ base, artifacts: out, prefix: 'x', logFile: '/dev/null' });
const browser = await launchChromium();
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
const page = await ctx.newPage();
await kit.signIn(page, user, pass);
if (new URL(page.url()).pathname === '/console/password') await kit.changePassword(page, pass, newPass);
await page.goto(base + url);
let i = 0;
for (const s of selectors) {
  if (s === 'top') await page.screenshot({ path: `${out}/shot-${i++}.png` });
  else await page.locator(s).first().screenshot({ path: `${out}/shot-${i++}.png` });
}
await browser.close();
