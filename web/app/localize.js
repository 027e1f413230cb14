// The upload page (#/localize): POST /v1/localize with an image, k and a strategy; shows the
// estimate, timings, candidates (and the reranked order with evidence) and the map.
import { apiFetch } from './api.js';
import { cardList, candidateCard, rerankedCard } from './cards.js';
import { caveatBanner, errorBox, fill, h, isAbort, latLonText, num, spinner } from './dom.js';
import { evidenceDetails } from './evidence.js';
import { drawMap, mapLegend } from './map.js';

function timingsTable(timings) {
  if (!timings || typeof timings !== 'object') return null;
  const order = ['decode', 'embed', 'search', 'rerank', 'total'];
  const keys = [...order.filter((k) => k in timings), ...Object.keys(timings).filter((k) => !order.includes(k))];
  return h(
    'table',
    { class: 'timings', dataset: { testid: 'timings' } },
    h('tbody', {}, keys.map((k) => h('tr', { class: k === 'total' ? 'total' : '' }, h('th', {}, k), h('td', { class: 'num' }, `${num(timings[k], 1)} ms`)))),
  );
}

function renderResult(box, result) {
  const candidates = (Array.isArray(result.candidates) ? result.candidates : []).slice().sort((a, b) => a.rank - b.rank);
  const byTile = new Map(candidates.map((c) => [c.tile, c]));
  const reranked = Array.isArray(result.reranked) ? result.reranked : null;
  const est = result.estimate;
  const orientation = result.orientation || {};
  const mapEl = h('div', { class: 'map' });

  const columns = [cardList('Retrieval', candidates.map((c) => candidateCard(c)), { testid: 'baseline-list' })];
  if (reranked) {
    columns.push(
      cardList(
        `Reranked: ${result.strategy || ''}`,
        reranked.map((entry, i) => rerankedCard({ ...(byTile.get(entry.tile) || {}), ...entry }, i, entry)),
        { testid: 'reranked-list' },
      ),
    );
  }

  fill(box,
    h(
      'div',
      { class: 'localize-result', dataset: { testid: 'localize-result' } },
      caveatBanner(result.caveats),
      h(
        'div',
        { class: 'query-top' },
        h(
          'section',
          { class: 'panel' },
          h('h2', {}, 'Estimate'),
          h('div', { class: 'estimate-big', dataset: { testid: 'estimate' } }, est ? latLonText(est) : 'no estimate'),
          h(
            'dl',
            { class: 'facts' },
            h('dt', {}, 'From'), h('dd', {}, est ? `${est.source === 'rerank' ? 'reranked' : 'retrieval'} top-1, tile ${est.tile}` : '—'),
            h('dt', {}, 'Strategy'), h('dd', {}, result.strategy || 'none (retrieval only)'),
            h('dt', {}, 'k'), h('dd', {}, num(result.k)),
            h('dt', {}, 'Heading'), h('dd', {}, orientation.known && typeof orientation.heading_deg === 'number' ? `${num(orientation.heading_deg, 1)}°` : 'unknown'),
            orientation.note ? [h('dt', {}, 'Orientation'), h('dd', { class: 'small' }, orientation.note)] : null,
          ),
          h('h3', {}, 'Timings'),
          timingsTable(result.timings_ms),
          result.judge ? evidenceDetails(result.judge, { title: 'Judge' }) : null,
        ),
        h('section', { class: 'panel map-panel' }, h('h2', {}, 'Map'), mapEl, mapLegend({ truth: false })),
      ),
      h('section', { class: 'panel' }, h('h2', {}, 'Candidates'), h('div', { class: reranked ? 'columns' : 'columns single' }, columns)),
    ),
  );
  drawMap(mapEl, { candidates, estimate: est, truth: null });
}

/** #/localize */
export function renderLocalize(view, { signal, info }) {
  const strategies = Array.isArray(info?.strategies) ? info.strategies : [];
  const fileInput = h('input', { type: 'file', accept: 'image/*', dataset: { testid: 'upload-input' }, required: true });
  const kInput = h('input', { type: 'number', min: 1, max: 1000, step: 1, value: info?.k ?? 10, dataset: { testid: 'upload-k' } });
  const strategySelect = h(
    'select',
    { dataset: { testid: 'upload-strategy' } },
    h('option', { value: 'none' }, 'none (retrieval only)'),
    strategies.map((s) => h('option', { value: s }, s)),
  );
  strategySelect.value = info?.default_strategy && strategies.includes(info.default_strategy) ? info.default_strategy : 'none';
  const submit = h('button', { type: 'submit', class: 'primary', dataset: { testid: 'upload-submit' } }, 'Localize');
  const preview = h('img', { class: 'upload-preview', alt: '' });
  preview.hidden = true;
  const resultBox = h('div');

  let previewUrl = null;
  fileInput.addEventListener('change', () => {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    const file = fileInput.files && fileInput.files[0];
    previewUrl = file ? URL.createObjectURL(file) : null;
    preview.hidden = !previewUrl;
    if (previewUrl) preview.src = previewUrl;
  });

  const form = h(
    'form',
    { class: 'panel upload-form' },
    h('h2', {}, 'Upload a street-level image'),
    h('p', { class: 'muted' }, 'The image is embedded, matched against the gallery’s aerial tiles and, with a strategy, reranked by the judge. Nothing leaves this service.'),
    h(
      'div',
      { class: 'form-row' },
      h('label', {}, 'Image ', fileInput),
      h('label', {}, 'k ', kInput),
      h('label', {}, 'Strategy ', strategySelect),
      submit,
    ),
    preview,
  );

  let busy = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const file = fileInput.files && fileInput.files[0];
    if (!file) {
      fill(resultBox, h('div', { class: 'warning' }, 'Choose an image first.'));
      return;
    }
    const data = new FormData();
    data.append('image', file, file.name);
    data.append('k', String(kInput.value || info?.k || 10));
    data.append('strategy', strategySelect.value);
    busy = true;
    submit.disabled = true;
    const started = performance.now();
    fill(resultBox, spinner(strategySelect.value === 'none' ? 'Retrieving…' : 'Retrieving and reranking (the judge may take a while)…'));
    try {
      const response = await apiFetch('/v1/localize', { method: 'POST', body: data, signal });
      const result = await response.json();
      renderResult(resultBox, result);
    } catch (e) {
      if (isAbort(e)) return;
      fill(resultBox, errorBox(e, 'Localizing'));
    } finally {
      busy = false;
      submit.disabled = false;
      resultBox.dataset.elapsedMs = String(Math.round(performance.now() - started));
    }
  });

  fill(view,
    h('h1', {}, 'Localize an image'),
    caveatBanner(info?.caveats),
    form,
    resultBox,
  );
}
