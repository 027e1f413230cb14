// Opens a georank report.html in Debian's Chromium (playwright-core from web/node_modules)
// and checks that it works offline: every figure rendered as a non-empty SVG, the per-query
// drill-down opens, no request leaves the file system, no page error.
//   node tests/report/report_page_test.mjs REPORT_HTML [SCREENSHOT_PNG]
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const [html, screenshot] = process.argv.slice(2);
if (!html) {
  console.error('usage: node report_page_test.mjs REPORT_HTML [SCREENSHOT_PNG]');
  process.exit(2);
}
const failures = [];
const external = new Set();
const browser = await chromium.launch({
  executablePath: process.env.GEORANK_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const local = (url) => /^(file|data|blob):/.test(url);
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (local(url)) return route.continue();
    external.add(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('request', (r) => { if (!local(r.url())) external.add(r.url()); });
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') failures.push(`console error: ${m.text()}`); });
  await page.goto(pathToFileURL(resolve(html)).href);
  await page.waitForLoadState('load');
  const rendered = await page
    .waitForFunction(() => document.body && document.body.dataset.figuresRendered, null, { timeout: 30000 })
    .then((h) => h.jsonValue(), () => undefined);
  if (rendered === undefined) failures.push('figures: body[data-figures-rendered] not set within 30 s');
  else if (!/^\d+$/.test(rendered)) failures.push(`figures: ${rendered}`);
  const figures = await page.$$eval('.vega-figure[data-figure]', (els) => els.map((el) => {
    const svg = el.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    // Data marks only: vega's SVG puts them in g.role-mark; frames, axes and legends are drawn
    // even when a figure has no data.
    const marks = svg ? svg.querySelectorAll(['path', 'rect', 'line', 'image', 'text']
      .map((t) => `g.role-mark > ${t}`).join(', ')).length : 0;
    return { name: el.dataset.figure, width: box.width, height: box.height, marks };
  }));
  if (figures.length < 1) failures.push('no figures on the page');
  if (/^\d+$/.test(rendered) && Number(rendered) !== figures.length)
    failures.push(`${rendered} figures rendered, ${figures.length} on the page`);
  for (const f of figures)
    if (!(f.width > 0 && f.height > 0 && f.marks > 0)) failures.push(`figure ${f.name} is empty (${JSON.stringify(f)})`);

  const link = await page.$('a.query-link[data-query]');
  if (!link) {
    failures.push('no query link for the drill-down');
  } else {
    const id = await link.getAttribute('data-query');
    // A DOM click: the page's own handler, whatever the layout is doing meanwhile.
    await link.evaluate((a) => a.click());
    // Wait for the drill-down to show this query; the checks below say what is wrong if not.
    await page.waitForFunction((q) => {
      const el = document.querySelector('#drilldown');
      return el && !el.hidden && el.dataset.query === q && el.querySelector('.candidate');
    }, id, { timeout: 5000 }).catch(() => {});
    const state = await page.$eval('#drilldown', (el) => ({
      visible: !el.hidden && el.getBoundingClientRect().height > 0,
      query: el.dataset.query,
      candidates: el.querySelectorAll('.candidate').length,
      judgments: el.querySelectorAll('.judgment').length,
    })).catch(() => null);
    if (!state) {
      failures.push('no #drilldown element');
    } else {
      if (!state.visible) failures.push('the drill-down did not open');
      if (state.query !== id) failures.push(`the drill-down shows ${state.query}, not ${id}`);
      if (state.candidates < 1) failures.push('the drill-down shows no candidate');
      if (state.judgments < 1) failures.push('the drill-down shows no judgment');
    }
  }
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  for (const url of external) failures.push(`network request: ${url}`);
  if (failures.length) {
    console.log('report page: FAILED\n  ' + failures.join('\n  '));
    process.exitCode = 1;
  } else {
    console.log(`report page: ${figures.length} figures rendered, drill-down ok, 0 network requests`);
  }
} finally {
  await browser.close();
}
