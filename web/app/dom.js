// Small DOM helpers shared by the views: element construction, caveat banners, error
// messages, number formatting and thumbnails loaded through the API.
import { ApiError, imageUrl } from './api.js';

/**
 * h('div', {class: 'x', dataset: {testid: 'y'}, onclick: f}, child, ...) -> Element.
 * Children may be strings, numbers, Elements, null/false (skipped) or arrays of those.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'dataset') {
      for (const [k, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) el.dataset[k] = String(v);
      }
    } else if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.className = value;
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

/** Replaces el's children with `children` (same rules as h(): null/false are skipped). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

// Caveats the header's banner already shows (from /v1/info); views leave them out.
const globalCaveats = new Set();

/** Records the caveats shown on every page, so views do not repeat them. */
export function setGlobalCaveats(caveats) {
  globalCaveats.clear();
  for (const c of Array.isArray(caveats) ? caveats : []) globalCaveats.add(String(c));
}

/**
 * A red banner listing `caveats` (strings) except those already shown on every page; null
 * when none is left. `global` builds the every-page banner itself.
 */
export function caveatBanner(list, { global = false } = {}) {
  const caveats = (Array.isArray(list) ? list : []).map(String).filter((c) => global || !globalCaveats.has(c));
  if (caveats.length === 0) return null;
  return h(
    'div',
    { class: 'caveat', role: 'alert', dataset: { testid: 'caveat' } },
    h('strong', {}, caveats.length === 1 ? 'Caveat' : 'Caveats'),
    h('ul', {}, caveats.map((c) => h('li', {}, c))),
  );
}

/** A readable message for an error from the API (or anything thrown). */
export function errorBox(err, context = '') {
  const box = h('div', { class: 'error', role: 'alert', dataset: { testid: 'error' } });
  if (err instanceof ApiError) {
    let title = context ? `${context}: ` : '';
    let hint = null;
    if (err.status === 401) {
      title += 'an API key is needed';
      hint = 'This service requires an API key. Enter it in the “API key” field at the top right; it is kept for this browser tab only.';
    } else if (err.status === 413) {
      title += 'the image is too large';
    } else if (err.status === 415) {
      title += 'unsupported image type';
    } else if (err.status === 429 || err.status === 503) {
      title += 'the service is busy';
      hint = err.retryAfter !== null && Number.isFinite(err.retryAfter)
        ? `Try again in ${err.retryAfter} s.`
        : 'Try again shortly.';
    } else if (err.status === 0) {
      title += 'the service cannot be reached';
    } else {
      title += `request failed (HTTP ${err.status})`;
    }
    box.append(
      h('div', { class: 'error-title' }, title),
      h('div', { class: 'error-detail' }, h('code', {}, err.kind), ' ', err.message),
    );
    if (hint) box.append(h('div', { class: 'error-hint' }, hint));
  } else {
    box.append(
      h('div', { class: 'error-title' }, context || 'Something went wrong'),
      h('div', { class: 'error-detail' }, String((err && err.message) || err)),
    );
  }
  return box;
}

/** True for the error an aborted fetch rejects with (the user navigated away). */
export function isAbort(err) {
  return err && err.name === 'AbortError';
}

/** Numbers: integers as they are, others with `digits` decimals; '—' for null. */
export function num(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  if (typeof value !== 'number') return String(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/** 0.25 -> '25.0%'. */
export function pct(value) {
  if (value === null || value === undefined || typeof value !== 'number') return '—';
  return `${(value * 100).toFixed(1)}%`;
}

/** A lat/lon pair as text, or '—'. */
export function latLonText(p) {
  if (!p || typeof p.lat !== 'number' || typeof p.lon !== 'number') return '—';
  return `${p.lat.toFixed(6)}, ${p.lon.toFixed(6)}`;
}

/** A spinner with a label. */
export function spinner(label = 'Loading…') {
  return h('div', { class: 'loading', dataset: { testid: 'loading' } }, h('span', { class: 'spinner' }), label);
}

/**
 * An <img> whose bytes are fetched through the API (for the key); the src is set once the
 * blob is there, and a placeholder class shows on failure.
 */
export function apiImage(path, { alt = '', className = '', testid = null } = {}) {
  const img = h('img', { alt, class: className, dataset: { testid } });
  if (!path) {
    img.classList.add('img-missing');
    return img;
  }
  img.classList.add('img-loading');
  img.addEventListener('error', () => {
    img.classList.add('img-missing');
    img.title = 'image unreadable';
  });
  imageUrl(path).then(
    (url) => {
      img.src = url;
      img.classList.remove('img-loading');
    },
    () => {
      img.classList.remove('img-loading');
      img.classList.add('img-missing');
      img.title = 'image unavailable';
    },
  );
  return img;
}

/** Rank 0 -> '#1' (ranks are 0-based in the API, 1-based on screen). */
export function rankText(rank) {
  return rank === null || rank === undefined ? '—' : `#${rank + 1}`;
}

export const CATEGORY_HELP = {
  fixed: 'wrong at baseline top-1, right after reranking',
  broken: 'right at baseline top-1, wrong after reranking',
  kept: 'right before and after reranking',
  missed: 'wrong before and after reranking',
};

/** A coloured badge for a query category (fixed / broken / kept / missed). */
export function categoryBadge(category) {
  if (!category) return null;
  return h(
    'span',
    { class: `badge cat-${category}`, title: CATEGORY_HELP[category] || '', dataset: { testid: 'category' } },
    category,
  );
}
