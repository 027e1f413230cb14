// The per-query view (#/runs/RUN/queries/QID): the query image, the baseline candidates
// beside the selected strategy's reranked order with every judgment, and the map.
import { apiJson, apiPath } from './api.js';
import { cardList, candidateCard, rerankedCard } from './cards.js';
import { apiImage, categoryBadge, caveatBanner, errorBox, fill, h, isAbort, latLonText, rankText, spinner } from './dom.js';
import { drawMap, mapLegend } from './map.js';
import { runHash, runListState } from './runs.js';

function estimateFor(q, strategy, byTile, baseline) {
  const ranked = strategy ? q.strategies?.[strategy]?.ranked : null;
  const top = Array.isArray(ranked) && ranked.length ? byTile.get(ranked[0].tile) : baseline[0];
  return top && top.center ? { ...top.center, tile: top.tile } : null;
}

/** #/runs/RUN/queries/QID */
export async function renderQuery(view, runId, qid, { signal }) {
  const crumbs = h(
    'nav',
    { class: 'crumbs' },
    h('a', { href: '#/' }, 'Runs'), ' / ',
    h('a', { href: runHash(runId) }, runId), ' / ',
    h('span', {}, qid),
  );
  view.append(crumbs, h('h1', {}, qid), spinner('Loading the query…'));
  let q;
  try {
    q = await apiJson(apiPath('v1', 'runs', runId, 'queries', qid), { signal });
  } catch (e) {
    if (isAbort(e)) return;
    fill(view, crumbs, h('h1', {}, qid), errorBox(e, 'Loading the query'));
    return;
  }

  const baseline = (Array.isArray(q.candidates) ? q.candidates : []).slice().sort((a, b) => a.rank - b.rank);
  const byTile = new Map(baseline.map((c) => [c.tile, c]));
  const strategies = Array.isArray(q.strategy_order) ? q.strategy_order : Object.keys(q.strategies || {});
  const remembered = runListState(runId)?.strategy;
  let strategy = strategies.includes(remembered) ? remembered : strategies[0] || null;

  const strategySelect = h(
    'select',
    { dataset: { testid: 'query-strategy' }, disabled: strategies.length === 0 },
    strategies.length ? strategies.map((s) => h('option', { value: s }, s)) : h('option', { value: '' }, '(none)'),
  );
  if (strategy) strategySelect.value = strategy;

  const categoryBox = h('span', { class: 'query-category' });
  const unparsedBox = h('div');
  const rerankedBox = h('div', { class: 'card-column-wrap' });
  const estimateText = h('span', { dataset: { testid: 'estimate' } });

  const semis = new Set(Array.isArray(q.semi_positives) ? q.semi_positives : []);
  const info = h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'City'), h('dd', {}, q.city || '—'),
    h('dt', {}, 'True position'), h('dd', {}, latLonText(q.gps)),
    h('dt', {}, 'Positive tile'), h('dd', { class: 'mono' }, q.positive || '—'),
    h('dt', {}, 'Positive at (baseline)'),
    h('dd', {}, q.positive_rank === null || q.positive_rank === undefined ? 'not in the top-K' : rankText(q.positive_rank)),
    h('dt', {}, 'Semi-positives'), h('dd', { class: 'mono small' }, semis.size ? [...semis].join(', ') : '—'),
    h('dt', {}, 'Best estimate'), h('dd', {}, estimateText),
  );

  const mapEl = h('div', { class: 'map' });
  const baselineCards = baseline.map((c) => candidateCard(c));

  fill(view,
    crumbs,
    h('h1', {}, qid, h('span', { class: 'subtitle' }, q.city || '')),
    caveatBanner(q.caveats),
    h(
      'div',
      { class: 'query-view', dataset: { testid: 'query-view', query: q.id ?? qid } },
      h(
        'div',
        { class: 'query-top' },
        h(
          'section',
          { class: 'panel query-image-panel' },
          h('h2', {}, 'Query image'),
          apiImage(q.image_url, { alt: `query ${qid}`, className: 'query-image', testid: 'query-image' }),
          info,
        ),
        h(
          'section',
          { class: 'panel map-panel' },
          h('h2', {}, 'Map'),
          mapEl,
          mapLegend({ truth: true }),
        ),
      ),
      h(
        'section',
        { class: 'panel' },
        h(
          'div',
          { class: 'toolbar' },
          h('h2', {}, 'Candidates'),
          h('span', { class: 'spacer' }),
          h('label', {}, 'Strategy ', strategySelect),
          categoryBox,
        ),
        unparsedBox,
        h(
          'div',
          { class: 'columns' },
          cardList('Baseline (retrieval)', baselineCards, { testid: 'baseline-list' }),
          rerankedBox,
        ),
      ),
    ),
  );

  const truth = q.gps && typeof q.gps.lat === 'number' ? q.gps : null;
  const mapped = drawMap(mapEl, { candidates: baseline, estimate: estimateFor(q, strategy, byTile, baseline), truth });

  function showStrategy() {
    const s = strategy ? q.strategies?.[strategy] : null;
    fill(categoryBox, s ? categoryBadge(s.category) : null);
    fill(unparsedBox,
      s && s.unparsed
        ? h('div', { class: 'warning', dataset: { testid: 'unparsed' } }, `Unparsed: at least one answer of the judge for this query could not be parsed under “${strategy}”; its evidence says which.`)
        : null,
    );
    const ranked = s && Array.isArray(s.ranked) ? s.ranked : [];
    const cards = ranked.map((entry, i) => {
      const c = byTile.get(entry.tile) || { tile: entry.tile, rank: entry.baseline_rank };
      return rerankedCard(c, i, entry);
    });
    fill(rerankedBox,
      cardList(strategy ? `Reranked: ${strategy}` : 'Reranked', cards, {
        testid: 'reranked-list',
        note: strategy ? null : '(this run has no rerank strategies)',
      }),
    );
    const est = estimateFor(q, strategy, byTile, baseline);
    estimateText.textContent = est
      ? `${latLonText(est)} (tile ${est.tile}, ${strategy ? `${strategy} top-1` : 'baseline top-1'})`
      : '—';
    mapped.setEstimate(est);
  }
  strategySelect.addEventListener('change', () => {
    strategy = strategySelect.value || null;
    const state = runListState(runId);
    if (state && strategy) state.strategy = strategy;
    showStrategy();
  });
  showStrategy();
}
