// axe-core for the browser tests: runs WCAG 2.0/2.1 A and AA rules in a page (its context must
// bypass the page's CSP, which allows no injected script), prints one line per page, and keeps
// every page's results for the report the test writes.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
export const axeTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** The serious and critical violations of `page` (as lines); its results go into `reports`. */
export async function axeCheck(page, name, reports) {
  await page.addScriptTag({ path: axePath });
  const results = await page.evaluate((tags) => window.axe.run(document, {
    runOnly: { type: 'tag', values: tags },
  }), axeTags);
  reports.push({ name, url: page.url(), results });
  const by = { critical: 0, serious: 0, moderate: 0, minor: 0 };
  for (const v of results.violations) by[v.impact ?? 'minor'] += 1;
  console.log(`  axe ${name}: ${by.critical} critical, ${by.serious} serious, ${by.moderate} moderate, ` +
    `${by.minor} minor violation(s); ${results.passes.length} rules pass, ${results.incomplete.length} to review`);
  for (const v of results.violations)
    console.log(`    ${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${name}: ${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Writes every page's results to `file` and prints the totals in one line. */
export function writeAxeReport(reports, file) {
  const total = { critical: 0, serious: 0, moderate: 0, minor: 0 };
  let passes = 0;
  for (const { results } of reports) {
    passes += results.passes.length;
    for (const v of results.violations) total[v.impact ?? 'minor'] += 1;
  }
  fs.writeFileSync(file, JSON.stringify({
    axe: reports[0]?.results.testEngine, tags: axeTags,
    pages: reports.map(({ name, url, results }) => ({ name, url, ...results })),
  }, null, 2));
  console.log(`  axe, ${reports.length} pages: ${total.critical} critical, ${total.serious} serious, ` +
    `${total.moderate} moderate, ${total.minor} minor violation(s); ${passes} rule passes; ${file}`);
}
