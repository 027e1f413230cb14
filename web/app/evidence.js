// Renders a judgment's free-form `evidence` object generically: numbers with 3 decimals,
// text in full as paragraphs, arrays of objects as small tables, nested objects as nested
// key/value lists.
import { h, num } from './dom.js';

const LONG_TEXT = 48;

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function label(key) {
  return String(key).replace(/_/g, ' ');
}

/** Any JSON value as an Element (or text node). */
export function renderValue(value, key = '') {
  if (value === null || value === undefined) return h('span', { class: 'ev-null' }, '—');
  if (typeof value === 'number') return h('span', { class: 'ev-num' }, num(value));
  if (typeof value === 'boolean') {
    return h('span', { class: value ? 'ev-bool ev-true' : 'ev-bool ev-false' }, value ? 'yes' : 'no');
  }
  if (typeof value === 'string') {
    const long = value.length > LONG_TEXT || value.includes('\n') || /text|reason|answer|prompt/i.test(key);
    if (!long) return h('span', { class: 'ev-str' }, value);
    const paragraphs = value.split(/\n{2,}/);
    return h('div', { class: 'ev-text' }, paragraphs.map((p) => h('p', {}, p)));
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return h('span', { class: 'ev-null' }, 'none');
    if (value.every(isPlainObject)) return objectTable(value);
    if (value.every((v) => v === null || typeof v !== 'object')) {
      return h('span', { class: 'ev-list' }, value.map((v, i) => [i ? ', ' : '', renderValue(v)]));
    }
    return h('ol', { class: 'ev-array' }, value.map((v) => h('li', {}, renderValue(v))));
  }
  if (isPlainObject(value)) return keyValueList(value);
  return h('span', {}, String(value));
}

function keyValueList(obj) {
  const entries = Object.entries(obj);
  if (entries.length === 0) return h('span', { class: 'ev-null' }, 'empty');
  return h(
    'dl',
    { class: 'ev-kv' },
    entries.map(([k, v]) => [h('dt', {}, label(k)), h('dd', {}, renderValue(v, k))]),
  );
}

function objectTable(rows) {
  const columns = [];
  for (const row of rows) {
    for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  }
  return h(
    'div',
    { class: 'ev-table-wrap' },
    h(
      'table',
      { class: 'ev-table' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, label(c))))),
      h(
        'tbody',
        {},
        rows.map((row) => h('tr', {}, columns.map((c) => h('td', {}, c in row ? renderValue(row[c], c) : '')))),
      ),
    ),
  );
}

/**
 * A <details data-testid="evidence"> holding `evidence` (object or anything JSON);
 * `open` for the top-1. The summary names the most telling numbers when present.
 */
export function evidenceDetails(evidence, { open = false, title = 'Judgment' } = {}) {
  const summaryBits = [];
  if (isPlainObject(evidence)) {
    for (const k of ['score', 'p_yes', 'covered_mass']) {
      if (typeof evidence[k] === 'number') summaryBits.push(`${label(k)} ${num(evidence[k])}`);
    }
    if (Array.isArray(evidence.comparisons)) summaryBits.push(`${evidence.comparisons.length} comparisons`);
    if (evidence.unparsed) summaryBits.push('UNPARSED');
  }
  const details = h(
    'details',
    { class: 'evidence', dataset: { testid: 'evidence' } },
    h(
      'summary',
      {},
      h('span', { class: 'ev-title' }, title),
      summaryBits.length ? h('span', { class: 'ev-summary' }, summaryBits.join(' · ')) : null,
    ),
    h('div', { class: 'ev-body' }, evidence === null || evidence === undefined
      ? h('span', { class: 'ev-null' }, 'no evidence recorded')
      : renderValue(evidence)),
  );
  details.open = open;
  return details;
}
