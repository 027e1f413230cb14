// The run list (#/) and a run's page (#/runs/RUN): metrics table, figures, query list.
import embed from 'vega-embed';
import { apiJson, apiPath } from './api.js';
import { categoryBadge, caveatBanner, errorBox, fill, h, isAbort, num, pct, rankText, spinner } from './dom.js';

const FILTERS = ['all', 'fixed', 'broken', 'kept', 'missed', 'unparsed'];
const PAGE_SIZE = 50;

// The run page's list state per run, kept while the page lives so "back" restores it.
const listState = new Map();

/** The state of a run's list (strategy, filter, offset); the query view reads the strategy. */
export function runListState(runId) {
  return listState.get(runId) || null;
}

export function runHash(runId) {
  return `#/runs/${encodeURIComponent(runId)}`;
}

export function queryHash(runId, qid) {
  return `${runHash(runId)}/queries/${encodeURIComponent(qid)}`;
}

function datasetSummary(dataset) {
  if (!dataset || typeof dataset !== 'object') return null;
  const entries = Object.entries(dataset).filter(([, v]) => v === null || typeof v !== 'object');
  if (entries.length === 0) return null;
  return h('dl', { class: 'inline-kv' }, entries.map(([k, v]) => [h('dt', {}, k.replace(/_/g, ' ')), h('dd', {}, v === null ? '—' : String(v))]));
}

/** #/ : every run the service knows. */
export async function renderRunList(view, { signal }) {
  view.append(h('h1', {}, 'Runs'), spinner('Loading runs…'));
  let body;
  try {
    body = await apiJson('/v1/runs', { signal });
  } catch (e) {
    if (isAbort(e)) return;
    fill(view, h('h1', {}, 'Runs'), errorBox(e, 'Loading the runs'));
    return;
  }
  const runs = Array.isArray(body.runs) ? body.runs : [];
  const list = h('ul', { class: 'run-list', dataset: { testid: 'run-list' } });
  for (const run of runs) {
    list.append(
      h(
        'li',
        { class: 'run-item' },
        h(
          'div',
          { class: 'run-head' },
          h('a', { href: runHash(run.id), class: 'run-link', dataset: { testid: 'run-link', run: run.id } }, run.id),
          h('span', { class: 'muted' }, `${run.n_queries ?? '?'} queries`),
        ),
        Array.isArray(run.strategies) && run.strategies.length
          ? h('div', { class: 'run-strategies' }, run.strategies.map((s) => h('span', { class: 'chip' }, s)))
          : h('div', { class: 'muted small' }, 'retrieval only (no rerank strategies)'),
        datasetSummary(run.dataset),
        caveatBanner(run.caveats),
      ),
    );
  }
  fill(view,
    h('h1', {}, 'Runs'),
    caveatBanner(body.caveats),
    runs.length ? list : h('p', { class: 'empty' }, 'This service has no runs loaded. Start it with a run directory to browse one here.'),
  );
}

function metricsTable(run) {
  const order = Array.isArray(run.strategy_order) ? run.strategy_order : Object.keys(run.strategies || {});
  const ks = new Set(Object.keys((run.baseline && run.baseline.recall) || {}));
  for (const name of order) {
    for (const k of Object.keys((run.strategies?.[name]?.recall) || {})) ks.add(k);
  }
  const recallKs = [...ks].sort((a, b) => Number(a) - Number(b));
  const delta = (d) => {
    if (typeof d !== 'number') return h('td', { class: 'num' }, '—');
    const cls = d > 0 ? 'num pos' : d < 0 ? 'num neg' : 'num';
    return h('td', { class: cls }, `${d > 0 ? '+' : ''}${(d * 100).toFixed(1)} pp`);
  };
  const rows = [
    h(
      'tr',
      { class: 'baseline-row' },
      h('th', { scope: 'row' }, 'baseline (retrieval)'),
      h('td', {}, '—'),
      recallKs.map((k) => h('td', { class: 'num' }, pct(run.baseline?.recall?.[k]))),
      h('td', { class: 'num' }, '—'),
      h('td', { class: 'num', colspan: 6 }, ''),
    ),
  ];
  for (const name of order) {
    const s = run.strategies?.[name] || {};
    rows.push(
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, name),
        h('td', {}, s.strategy || '—'),
        recallKs.map((k) => h('td', { class: 'num' }, pct(s.recall?.[k]))),
        delta(s.delta_r1),
        h('td', { class: 'num' }, num(s.fixed)),
        h('td', { class: 'num' }, num(s.broken)),
        h('td', { class: 'num' }, num(s.kept)),
        h('td', { class: 'num' }, num(s.missed)),
        h('td', { class: 'num' }, num(s.judgments_per_query, 1)),
        h('td', { class: s.unparsed ? 'num warn' : 'num' }, num(s.unparsed)),
      ),
    );
  }
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'metrics', dataset: { testid: 'metrics' } },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Strategy'),
          h('th', {}, 'Kind'),
          recallKs.map((k) => h('th', { class: 'num' }, `R@${k}`)),
          h('th', { class: 'num' }, 'ΔR@1'),
          h('th', { class: 'num' }, 'Fixed'),
          h('th', { class: 'num' }, 'Broken'),
          h('th', { class: 'num' }, 'Kept'),
          h('th', { class: 'num' }, 'Missed'),
          h('th', { class: 'num' }, 'Judgments / query'),
          h('th', { class: 'num' }, 'Unparsed'),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

async function renderFigures(container, figures) {
  container.dataset.figuresTotal = String(figures.length);
  let rendered = 0;
  const jobs = figures.map(async (fig) => {
    const target = h('div', { class: 'vega-target' });
    const el = h(
      'figure',
      { class: 'vega-figure', dataset: { figure: fig.name } },
      fig.title ? h('h3', { class: 'figure-title' }, fig.title) : null,
      target,
      fig.caption ? h('figcaption', {}, fig.caption) : null,
    );
    container.append(el);
    try {
      await embed(target, fig.spec, { renderer: 'svg', actions: false });
      rendered += 1;
    } catch (e) {
      target.replaceWith(errorBox(e, `Figure ${fig.name}`));
    }
  });
  await Promise.all(jobs);
  container.dataset.figuresRendered = String(rendered);
}

function queryRow(runId, q) {
  return h(
    'tr',
    {},
    h('td', {}, h('a', { href: queryHash(runId, q.id), dataset: { testid: 'query-link', query: q.id } }, q.id)),
    h('td', {}, q.city || '—'),
    h('td', {}, categoryBadge(q.category), q.unparsed ? h('span', { class: 'badge unparsed', title: 'an answer of the judge could not be parsed' }, 'unparsed') : null),
    h('td', { class: 'num' }, q.positive_rank === null || q.positive_rank === undefined ? h('span', { class: 'muted' }, 'not in top-K') : rankText(q.positive_rank)),
    h('td', { class: 'mono small' }, q.top1 || '—'),
  );
}

function queryListSection(runId, run, { signal }) {
  const strategies = Array.isArray(run.strategy_order) ? run.strategy_order : [];
  const state = listState.get(runId) || { strategy: strategies[0] || '', filter: 'all', offset: 0 };
  if (state.strategy && !strategies.includes(state.strategy)) state.strategy = strategies[0] || '';
  listState.set(runId, state);

  const strategySelect = h(
    'select',
    { dataset: { testid: 'strategy' }, disabled: strategies.length === 0 },
    strategies.length ? strategies.map((s) => h('option', { value: s }, s)) : h('option', { value: '' }, '(none)'),
  );
  strategySelect.value = state.strategy;
  const filterSelect = h('select', { dataset: { testid: 'filter' } }, FILTERS.map((f) => h('option', { value: f }, f)));
  filterSelect.value = state.filter;

  const count = h('span', { class: 'query-count', dataset: { testid: 'query-count' } });
  const prev = h('button', { type: 'button', dataset: { testid: 'prev-page' } }, '← Previous');
  const next = h('button', { type: 'button', dataset: { testid: 'next-page' } }, 'Next →');
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'queries' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Query'), h('th', {}, 'City'), h('th', {}, 'Category'), h('th', { class: 'num' }, 'Positive (baseline)'), h('th', {}, 'Baseline top-1'))),
    tbody,
  );
  const listBox = h('div', { class: 'query-list', dataset: { testid: 'query-list' } }, table);
  const message = h('div');

  let seq = 0;
  async function load() {
    const mine = ++seq;
    listBox.dataset.loading = '1';
    prev.disabled = true;
    next.disabled = true;
    const params = new URLSearchParams({ offset: String(state.offset), limit: String(PAGE_SIZE), filter: state.filter });
    if (state.strategy) params.set('strategy', state.strategy);
    let body;
    try {
      body = await apiJson(`${apiPath('v1', 'runs', runId, 'queries')}?${params}`, { signal });
    } catch (e) {
      if (isAbort(e) || mine !== seq) return;
      fill(message, errorBox(e, 'Loading the queries'));
      fill(tbody);
      count.textContent = '';
      delete listBox.dataset.loading;
      return;
    }
    if (mine !== seq) return;
    fill(message);
    const queries = Array.isArray(body.queries) ? body.queries : [];
    const total = Number(body.total) || 0;
    fill(tbody, queries.map((q) => queryRow(runId, q)));
    if (queries.length === 0) {
      tbody.append(h('tr', {}, h('td', { colspan: 5, class: 'empty' }, `No queries match “${state.filter}”.`)));
    }
    const first = total === 0 ? 0 : state.offset + 1;
    const last = state.offset + queries.length;
    count.textContent = total === 0 ? '0 queries' : `${first}–${last} of ${total} queries`;
    listBox.dataset.total = String(total);
    listBox.dataset.filter = state.filter;
    listBox.dataset.strategy = state.strategy;
    listBox.dataset.offset = String(state.offset);
    prev.disabled = state.offset === 0;
    next.disabled = last >= total;
    delete listBox.dataset.loading;
  }

  strategySelect.addEventListener('change', () => {
    state.strategy = strategySelect.value;
    state.offset = 0;
    load();
  });
  filterSelect.addEventListener('change', () => {
    state.filter = filterSelect.value;
    state.offset = 0;
    load();
  });
  prev.addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    load();
  });
  next.addEventListener('click', () => {
    state.offset += PAGE_SIZE;
    load();
  });

  load();
  return h(
    'section',
    { class: 'panel' },
    h('h2', {}, 'Queries'),
    h(
      'div',
      { class: 'toolbar' },
      h('label', {}, 'Strategy ', strategySelect),
      h('label', {}, 'Filter ', filterSelect),
      count,
      h('span', { class: 'spacer' }),
      prev,
      next,
    ),
    message,
    listBox,
  );
}

/** #/runs/RUN */
export async function renderRun(view, runId, { signal }) {
  const crumbs = h('nav', { class: 'crumbs' }, h('a', { href: '#/' }, 'Runs'), ' / ', h('span', {}, runId));
  view.append(crumbs, h('h1', {}, runId), spinner('Loading the run…'));
  let run;
  try {
    run = await apiJson(apiPath('v1', 'runs', runId), { signal });
  } catch (e) {
    if (isAbort(e)) return;
    fill(view, crumbs, h('h1', {}, runId), errorBox(e, 'Loading the run'));
    return;
  }
  const figures = Array.isArray(run.figures) ? run.figures : [];
  const figuresBox = h('div', { class: 'figures', dataset: { testid: 'figures' } });
  fill(view,
    crumbs,
    h('h1', {}, run.id || runId, h('span', { class: 'subtitle' }, `${run.n_queries ?? '?'} queries`)),
    caveatBanner(run.caveats),
    h('section', { class: 'panel' }, h('h2', {}, 'Metrics'), metricsTable(run)),
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Figures'),
      figures.length ? figuresBox : h('p', { class: 'empty' }, 'This run has no figures.'),
    ),
    queryListSection(runId, run, { signal }),
  );
  if (figures.length) await renderFigures(figuresBox, figures);
  else figuresBox.dataset.figuresRendered = '0';
}
