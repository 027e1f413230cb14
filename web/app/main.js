// The browser page of `georank serve`: header (service info, API key), hash router.
//   #/                         run list
//   #/runs/RUN                 a run: metrics, figures, query list
//   #/runs/RUN/queries/QID     one query: image, baseline vs reranked, evidence, map
//   #/localize                 upload an image
import './style.css';
import { apiJson, apiKey, setApiKey } from './api.js';
import { caveatBanner, errorBox, fill, h, isAbort, setGlobalCaveats } from './dom.js';
import { renderLocalize } from './localize.js';
import { renderQuery } from './query.js';
import { renderRun, renderRunList } from './runs.js';

const view = document.getElementById('view');
const serviceInfo = document.getElementById('service-info');
const globalBanner = document.getElementById('global-caveats');
const keyInput = document.getElementById('api-key');
const keyForm = document.getElementById('api-key-form');

let info = null;
let current = null; // AbortController of the view on screen

function decode(segment) {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** '#/runs/a%2Fb/queries/q' -> {name: 'query', run: 'a/b', query: 'q'}. */
function parseRoute(hash) {
  const path = hash.replace(/^#/, '').replace(/^\/+/, '');
  const parts = path === '' ? [] : path.split('/').map(decode);
  if (parts.length === 0) return { name: 'runs' };
  if (parts[0] === 'localize' && parts.length === 1) return { name: 'localize' };
  if (parts[0] === 'runs' && parts.length === 1) return { name: 'runs' };
  if (parts[0] === 'runs' && parts.length === 2) return { name: 'run', run: parts[1] };
  if (parts[0] === 'runs' && parts.length === 4 && parts[2] === 'queries') {
    return { name: 'query', run: parts[1], query: parts[3] };
  }
  return { name: 'unknown', path };
}

function markNav(name) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.classList.toggle('active', a.dataset.nav === (name === 'localize' ? 'localize' : 'runs'));
  }
}

async function route() {
  if (current) current.abort();
  current = new AbortController();
  const { signal } = current;
  const r = parseRoute(location.hash);
  markNav(r.name);
  const page = h('div', { class: 'page', dataset: { route: r.name } });
  fill(view, page);
  window.scrollTo(0, 0);
  try {
    if (r.name === 'runs') await renderRunList(page, { signal });
    else if (r.name === 'run') await renderRun(page, r.run, { signal });
    else if (r.name === 'query') await renderQuery(page, r.run, r.query, { signal });
    else if (r.name === 'localize') renderLocalize(page, { signal, info });
    else {
      page.append(h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, `#/${r.path}`), '. ', h('a', { href: '#/' }, 'Back to the runs.')));
    }
  } catch (e) {
    if (!isAbort(e)) page.append(errorBox(e));
  }
}

async function loadInfo() {
  try {
    info = await apiJson('/v1/info');
  } catch (e) {
    info = null;
    fill(serviceInfo, h('span', { class: 'muted' }, e.status === 401 ? 'API key needed' : 'service info unavailable'));
    setGlobalCaveats([]);
    fill(globalBanner);
    return;
  }
  const bits = [`v${info.version ?? '?'}`];
  if (typeof info.gallery_size === 'number') bits.push(`${info.gallery_size.toLocaleString('en')} tiles`);
  if (typeof info.k === 'number') bits.push(`k = ${info.k}`);
  const strategies = Array.isArray(info.strategies) ? info.strategies : [];
  if (strategies.length > 0) {
    const judges = new Set(Object.values(info.judges || {}).map((j) => (j && j.name) || 'judge'));
    bits.push(`${strategies.length} strategies (${[...judges].join(', ')})`);
  } else {
    bits.push('retrieval only');
  }
  serviceInfo.textContent = bits.join(' · ');
  serviceInfo.title = info.api_key_required ? 'this service requires an API key' : '';
  setGlobalCaveats(info.caveats);
  fill(globalBanner, caveatBanner(info.caveats, { global: true }));
  if (info.api_key_required && !apiKey()) keyInput.classList.add('needed');
}

keyInput.value = apiKey();
keyForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  setApiKey(keyInput.value.trim());
  keyInput.classList.remove('needed');
  await loadInfo();
  route();
});

window.addEventListener('hashchange', route);
loadInfo().then(route);
