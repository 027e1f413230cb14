// Thumbnail cards for candidate tiles, used by the query view and the upload page.
import { apiImage, h, num, rankText } from './dom.js';
import { evidenceDetails } from './evidence.js';

/**
 * One candidate as a card. `c` has tile, rank, score, image_url and optionally positive,
 * semi_positive, city. `extra` is appended (for the reranked order: the move and evidence).
 * The card itself carries class "positive" / "semi-positive" (nothing inside it does).
 */
export function candidateCard(c, { rank = c.rank, movedFrom = null, extra = null } = {}) {
  const classes = ['card'];
  if (c.positive) classes.push('positive');
  else if (c.semi_positive) classes.push('semi-positive');

  let move = null;
  if (movedFrom !== null && movedFrom !== undefined) {
    const delta = movedFrom - rank;
    const text = delta > 0 ? `▲ ${delta}` : delta < 0 ? `▼ ${-delta}` : '=';
    const cls = delta > 0 ? 'move up' : delta < 0 ? 'move down' : 'move same';
    move = h('span', { class: cls, title: `baseline ${rankText(movedFrom)}` }, text, h('span', { class: 'move-from' }, ` from ${rankText(movedFrom)}`));
  }

  return h(
    'li',
    { class: classes.join(' '), dataset: { testid: 'candidate-card', tile: c.tile, rank } },
    h('div', { class: 'card-rank' }, rankText(rank)),
    apiImage(c.image_url, { alt: `tile ${c.tile}`, className: 'thumb' }),
    h(
      'div',
      { class: 'card-body' },
      h('div', { class: 'card-tile', title: c.tile }, c.tile),
      h(
        'div',
        { class: 'card-meta' },
        c.score !== undefined && c.score !== null ? h('span', { class: 'score', title: 'retrieval score' }, `score ${num(c.score)}`) : null,
        move,
        c.city ? h('span', { class: 'city' }, c.city) : null,
      ),
      h(
        'div',
        { class: 'card-marks' },
        c.positive ? h('span', { class: 'mark mark-positive' }, 'positive') : null,
        c.semi_positive ? h('span', { class: 'mark mark-semi' }, 'semi-positive') : null,
      ),
    ),
    extra ? h('div', { class: 'card-extra' }, extra) : null,
  );
}

/** A list of cards with a heading. */
export function cardList(title, cards, { testid, note = null } = {}) {
  return h(
    'section',
    { class: 'card-column' },
    h('h3', {}, title, note ? h('span', { class: 'muted small' }, ' ', note) : null),
    h('ol', { class: 'cards', dataset: { testid } }, cards),
  );
}

/** The card of a reranked entry, with its move from the baseline rank and its evidence. */
export function rerankedCard(candidate, rank, entry) {
  return candidateCard(candidate, {
    rank,
    movedFrom: entry.baseline_rank,
    extra: evidenceDetails(entry.evidence, { open: rank === 0, title: 'Judgment' }),
  });
}
