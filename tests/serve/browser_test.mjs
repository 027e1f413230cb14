// Browser test of the page `georank serve` serves: drives Debian's Chromium through
// playwright-core against a running service and checks the run list, a run page (figures,
// query filters), a query view (images, candidate lists, evidence, map) and an upload.
//   node tests/serve/browser_test.mjs BASE_URL UPLOAD_IMAGE SCREENSHOT_DIR
// Optional: GEORANK_API_KEY (typed into the page's key field), CHROMIUM (executable path).
// Fails (exit 1) on any request to a host other than 127.0.0.1/localhost, any page error
// or console error. Prints one JSON line on success.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [baseArg, uploadImage, shotDirArg] = process.argv.slice(2);
if (!baseArg || !uploadImage || !shotDirArg) {
  console.error('usage: node tests/serve/browser_test.mjs BASE_URL UPLOAD_IMAGE SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = baseArg.replace(/\/+$/, '');
const shotDir = resolve(shotDirArg);
mkdirSync(shotDir, { recursive: true });
const API_KEY = process.env.GEORANK_API_KEY || '';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const FILTERS = ['fixed', 'broken', 'kept', 'missed', 'unparsed', 'all'];

const requests = [];
const foreign = [];
const pageErrors = [];
const screenshots = [];
let browser = null;
let page = null;
let step = 'start';

function isAllowed(url) {
  if (url.startsWith('data:') || url.startsWith('blob:')) return true;
  try {
    return LOCAL_HOSTS.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

async function fail(message) {
  console.error(`browser test FAILED at step "${step}": ${message}`);
  if (pageErrors.length) console.error(`page errors:\n  ${pageErrors.join('\n  ')}`);
  if (foreign.length) console.error(`requests to other hosts:\n  ${foreign.join('\n  ')}`);
  if (page) {
    try {
      await page.screenshot({ path: join(shotDir, 'failure.png'), fullPage: true });
      console.error(`screenshot of the failure: ${join(shotDir, 'failure.png')}`);
    } catch {
      // The page is gone; the message says enough.
    }
  }
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}

function check(condition, message) {
  if (!condition) return fail(message);
  return null;
}

/** No foreign request and no page/console error so far. */
async function checkClean() {
  if (foreign.length) await fail(`the page requested a host other than the service: ${foreign[0]}`);
  if (pageErrors.length) await fail(`the page reported an error: ${pageErrors[0]}`);
}

async function api(path) {
  const headers = API_KEY ? { Authorization: `Bearer ${API_KEY}` } : {};
  const response = await page.request.get(BASE + path, { headers });
  if (!response.ok()) await fail(`GET ${path} answered HTTP ${response.status()}: ${await response.text()}`);
  return response.json();
}

async function waitFor(what, fn, timeout = 30000) {
  try {
    await fn(timeout);
  } catch (e) {
    await fail(`${what} (${String(e.message || e).split('\n')[0]})`);
  }
}

async function shoot(name) {
  const path = join(shotDir, name);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(path);
}

const enc = encodeURIComponent;

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  page.on('request', (r) => {
    const url = r.url();
    requests.push(url);
    if (!isAllowed(url)) foreign.push(url);
  });
  // Nothing may leave the machine even if the page asked for it.
  await page.route((url) => !isAllowed(url.href), (route) => route.abort());
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console error: ${m.text()} (${m.location().url || '?'})`);
  });

  // 1. the run list
  step = '1 run list';
  const response = await page.goto(`${BASE}/`, { waitUntil: 'domcontentloaded' });
  await check(response && response.ok(), `GET / answered HTTP ${response && response.status()}`);
  if (API_KEY) {
    await page.fill('[data-testid="api-key"]', API_KEY);
    await page.click('[data-testid="api-key-save"]');
  }
  await waitFor('the run list shows no run link', (t) => page.waitForSelector('[data-testid="run-link"]', { timeout: t }));
  const runId = await page.getAttribute('[data-testid="run-link"] >> nth=0', 'data-run');
  await check(runId, 'the first run link has no data-run');
  await checkClean();
  await page.click('[data-testid="run-link"] >> nth=0');

  // 2. the run page: figures and query list
  step = '2 run page';
  const run = await api(`/v1/runs/${enc(runId)}`);
  const nFigures = Array.isArray(run.figures) ? run.figures.length : 0;
  await check(nFigures > 0, `run ${runId} has no figures in GET /v1/runs/${runId}`);
  await waitFor(`the figures container never reported ${nFigures} rendered figures`, (t) =>
    page.waitForFunction((n) => {
      const el = document.querySelector('[data-testid="figures"]');
      return el && el.dataset.figuresRendered === String(n);
    }, nFigures, { timeout: t }));
  const figureStats = await page.$$eval('figure.vega-figure', (els) => els.map((f) => ({ name: f.dataset.figure, svg: !!f.querySelector('svg') })));
  await check(figureStats.length === nFigures, `${figureStats.length} figures on the page, the API lists ${nFigures}`);
  const noSvg = figureStats.filter((f) => !f.svg).map((f) => f.name);
  await check(noSvg.length === 0, `figures without an svg: ${noSvg.join(', ')}`);
  await waitFor('the query list has no links', (t) => page.waitForSelector('[data-testid="query-link"]', { timeout: t }));
  await checkClean();
  await shoot('run.png');

  // 3. the filters
  step = '3 query filters';
  const strategy = await page.$eval('[data-testid="strategy"]', (s) => s.value);
  const totals = {};
  for (const filter of FILTERS) {
    await page.selectOption('[data-testid="filter"]', filter);
    await waitFor(`the query list did not update for filter "${filter}"`, (t) =>
      page.waitForFunction((f) => {
        const el = document.querySelector('[data-testid="query-list"]');
        return el && el.dataset.filter === f && !('loading' in el.dataset);
      }, filter, { timeout: t }));
    const params = new URLSearchParams({ offset: '0', limit: '50', filter });
    if (strategy) params.set('strategy', strategy);
    const expected = await api(`/v1/runs/${enc(runId)}/queries?${params}`);
    const shown = await page.$eval('[data-testid="query-list"]', (el) => Number(el.dataset.total));
    const countText = await page.textContent('[data-testid="query-count"]');
    const links = await page.$$eval('[data-testid="query-link"]', (els) => els.map((a) => a.dataset.query));
    await check(shown === expected.total, `filter "${filter}": the page shows total ${shown}, the API says ${expected.total}`);
    await check(countText.includes(String(expected.total)), `filter "${filter}": the count "${countText}" does not show ${expected.total}`);
    const want = expected.queries.map((q) => q.id);
    await check(JSON.stringify(links) === JSON.stringify(want), `filter "${filter}": links ${JSON.stringify(links)} differ from the API's ${JSON.stringify(want)}`);
    totals[filter] = expected.total;
  }
  // The most telling query to look at: a fixed one when there is one.
  const pick = totals.fixed > 0 ? 'fixed' : 'all';
  await page.selectOption('[data-testid="filter"]', pick);
  await waitFor('the query list did not come back', (t) =>
    page.waitForFunction((f) => {
      const el = document.querySelector('[data-testid="query-list"]');
      return el && el.dataset.filter === f && !('loading' in el.dataset) && el.querySelector('[data-testid="query-link"]');
    }, pick, { timeout: t }));
  const qid = await page.getAttribute('[data-testid="query-link"] >> nth=0', 'data-query');
  const href = await page.getAttribute('[data-testid="query-link"] >> nth=0', 'href');
  await check(href === `#/runs/${enc(runId)}/queries/${enc(qid)}`, `query link href "${href}" is not the encoded hash route`);
  await checkClean();
  await page.click('[data-testid="query-link"] >> nth=0');

  // 4. the query view
  step = '4 query view';
  const q = await api(`/v1/runs/${enc(runId)}/queries/${enc(qid)}`);
  await waitFor('the query view did not appear', (t) => page.waitForSelector('[data-testid="query-view"]', { timeout: t }));
  await waitFor('the query image did not load', (t) =>
    page.waitForFunction(() => {
      const img = document.querySelector('[data-testid="query-image"]');
      return img && img.complete && img.naturalWidth > 0;
    }, null, { timeout: t }));
  const nBaseline = await page.$$eval('[data-testid="baseline-list"] [data-testid="candidate-card"]', (els) => els.length);
  await check(nBaseline > 0, 'the baseline list has no cards');
  await check(nBaseline === q.candidates.length, `${nBaseline} baseline cards, the API lists ${q.candidates.length} candidates`);
  const hasStrategies = Array.isArray(q.strategy_order) && q.strategy_order.length > 0;
  const nReranked = await page.$$eval('[data-testid="reranked-list"] [data-testid="candidate-card"]', (els) => els.length);
  if (hasStrategies) await check(nReranked > 0, 'the reranked list has no cards');
  const positives = await page.$$eval('[data-testid="baseline-list"] .positive', (els) => els.map((e) => e.dataset.tile));
  if (q.positive_rank !== null && q.positive_rank !== undefined) {
    await check(positives.length === 1, `${positives.length} baseline cards marked positive, expected exactly 1 (positive_rank ${q.positive_rank})`);
    await check(positives[0] === q.positive, `the card marked positive is ${positives[0]}, the API's positive is ${q.positive}`);
  } else {
    await check(positives.length === 0, `${positives.length} baseline cards marked positive, but the positive is not in the top-K`);
  }
  const nEvidence = await page.$$eval('details[data-testid="evidence"]', (els) => els.length);
  if (hasStrategies) {
    await check(nEvidence > 0, 'no evidence <details> on the page');
    const topOpen = await page.$eval('[data-testid="reranked-list"] details[data-testid="evidence"]', (d) => d.open);
    await check(topOpen, 'the top-1 evidence is not open');
  }
  await waitFor('the map never reported its overlays', (t) =>
    page.waitForSelector('[data-testid="map"][data-overlays]', { timeout: t }));
  const qmap = await page.$eval('[data-testid="map"]', (el) => ({ ...el.dataset }));
  await check(Number(qmap.overlays) > 0, `the map drew ${qmap.overlays} image overlays`);
  await check(/^-?[\d.]+,-?[\d.]+$/.test(qmap.estimate || ''), `the map has no data-estimate (got "${qmap.estimate}")`);
  if (q.gps) await check(qmap.truth, 'the query has a GPS position but the map has no data-truth');
  await page.waitForFunction(() => [...document.querySelectorAll('.card img.thumb')].every((i) => i.complete && (i.naturalWidth > 0 || i.classList.contains('img-missing'))), null, { timeout: 15000 }).catch(() => {});
  await checkClean();
  await shoot('query.png');

  // 5. upload
  step = '5 localize';
  await page.goto(`${BASE}/#/localize`, { waitUntil: 'domcontentloaded' });
  await waitFor('the upload form did not appear', (t) => page.waitForSelector('[data-testid="upload-input"]', { timeout: t }));
  await page.setInputFiles('[data-testid="upload-input"]', resolve(uploadImage));
  await page.selectOption('[data-testid="upload-strategy"]', 'none');
  await page.click('[data-testid="upload-submit"]');
  await waitFor('no localize result', async (t) => {
    await Promise.race([
      page.waitForSelector('[data-testid="localize-result"]', { timeout: t }),
      page.waitForSelector('[data-testid="error"]', { timeout: t }).then(async () => {
        throw new Error(`the page shows an error: ${await page.textContent('[data-testid="error"]')}`);
      }),
    ]);
  }, 120000);
  await waitFor('the upload map never reported its overlays', (t) =>
    page.waitForSelector('[data-testid="localize-result"] [data-testid="map"][data-overlays]', { timeout: t }));
  const umap = await page.$eval('[data-testid="localize-result"] [data-testid="map"]', (el) => ({ ...el.dataset }));
  await check(Number(umap.overlays) > 0, `the upload map drew ${umap.overlays} image overlays`);
  await check(/^-?[\d.]+,-?[\d.]+$/.test(umap.estimate || ''), `the upload map has no data-estimate (got "${umap.estimate}")`);
  await check(!umap.truth, 'the upload map shows a true position');
  await page.waitForFunction(() => [...document.querySelectorAll('.card img.thumb')].every((i) => i.complete && (i.naturalWidth > 0 || i.classList.contains('img-missing'))), null, { timeout: 15000 }).catch(() => {});
  await checkClean();
  await shoot('localize.png');

  // 6. summary
  step = '6 summary';
  await checkClean();
  await browser.close();
  console.log(JSON.stringify({ ok: true, requests: requests.length, screenshots }));
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
