// The Leaflet map of a query or an upload: no basemap (the page works offline); the imagery
// is the gallery's own tiles as image overlays, tile centres as circle markers, the best
// estimate and the true position as distinct circle markers. After drawing, the container
// carries data-overlays="N", data-estimate="lat,lon" and (when known) data-truth="lat,lon".
import * as L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { imageUrl } from './api.js';
import { h, rankText } from './dom.js';

const STYLE = {
  tile: { radius: 5, color: '#1f2937', weight: 1.5, fillColor: '#ffffff', fillOpacity: 0.95 },
  positive: { radius: 6, color: '#14532d', weight: 2, fillColor: '#16a34a', fillOpacity: 1 },
  semi: { radius: 6, color: '#78350f', weight: 2, fillColor: '#f59e0b', fillOpacity: 1 },
  estimate: { radius: 11, color: '#1d4ed8', weight: 3, fillColor: '#3b82f6', fillOpacity: 0.35 },
  truth: { radius: 8, color: '#ffffff', weight: 2.5, fillColor: '#dc2626', fillOpacity: 1 },
};

function validPoint(p) {
  return p && typeof p.lat === 'number' && typeof p.lon === 'number'
    && Number.isFinite(p.lat) && Number.isFinite(p.lon);
}

function validBounds(b) {
  return Array.isArray(b) && b.length === 2 && b.every((c) => Array.isArray(c) && c.length === 2
    && c.every((x) => typeof x === 'number' && Number.isFinite(x)));
}

/** The legend shown under a map. */
export function mapLegend({ truth = true } = {}) {
  const item = (cls, text) => h('span', { class: 'legend-item' }, h('span', { class: `legend-dot ${cls}` }), text);
  return h(
    'div',
    { class: 'map-legend' },
    item('dot-estimate', 'best estimate'),
    truth ? item('dot-truth', 'true position') : null,
    item('dot-positive', 'positive tile'),
    item('dot-semi', 'semi-positive tile'),
    item('dot-tile', 'candidate tile centre'),
  );
}

/**
 * Draws `candidates` ({tile, rank, center, bounds, image_url, positive?, semi_positive?})
 * into `el` (already in the document). Returns {setEstimate(point), ready: Promise}.
 */
export function drawMap(el, { candidates = [], estimate = null, truth = null }) {
  el.dataset.testid = 'map';
  el.classList.add('map');
  delete el.dataset.overlays;
  delete el.dataset.estimate;
  delete el.dataset.truth;

  const map = L.map(el, {
    crs: L.CRS.EPSG3857,
    attributionControl: false,
    zoomSnap: 0.25,
    maxZoom: 22,
  });
  map.setView([0, 0], 2);

  const overlayPane = L.layerGroup().addTo(map);
  const markerPane = L.layerGroup().addTo(map);
  const extent = [];
  let estimateMarker = null;

  for (const c of candidates) {
    if (validBounds(c.bounds)) extent.push(c.bounds[0], c.bounds[1]);
    if (!validPoint(c.center)) continue;
    const style = c.positive ? STYLE.positive : c.semi_positive ? STYLE.semi : STYLE.tile;
    L.circleMarker([c.center.lat, c.center.lon], style)
      .bindTooltip(`${rankText(c.rank)} ${c.tile}${c.positive ? ' (positive)' : c.semi_positive ? ' (semi-positive)' : ''}`)
      .addTo(markerPane);
    extent.push([c.center.lat, c.center.lon]);
  }
  if (validPoint(truth)) {
    L.circleMarker([truth.lat, truth.lon], STYLE.truth).bindTooltip('true position').addTo(markerPane);
    extent.push([truth.lat, truth.lon]);
    el.dataset.truth = `${truth.lat},${truth.lon}`;
  }

  function setEstimate(point) {
    if (estimateMarker) {
      estimateMarker.remove();
      estimateMarker = null;
    }
    if (validPoint(point)) {
      estimateMarker = L.circleMarker([point.lat, point.lon], STYLE.estimate)
        .bindTooltip('best estimate')
        .addTo(markerPane);
      estimateMarker.bringToBack();
      el.dataset.estimate = `${point.lat},${point.lon}`;
    } else {
      delete el.dataset.estimate;
    }
  }
  setEstimate(estimate);
  if (validPoint(estimate)) extent.push([estimate.lat, estimate.lon]);

  if (extent.length > 0) {
    map.fitBounds(L.latLngBounds(extent), { padding: [24, 24], maxZoom: 19 });
  }

  // Lowest-ranked first, so the best candidates are drawn on top.
  const withImages = candidates
    .filter((c) => validBounds(c.bounds) && c.image_url)
    .sort((a, b) => (b.rank ?? 0) - (a.rank ?? 0));
  // Only images that decode count as drawn (a tile endpoint answering with something else
  // must not pass for imagery).
  const decoded = (path) => imageUrl(path).then(async (url) => {
    const probe = new Image();
    probe.src = url;
    await probe.decode();
    return url;
  });
  const ready = Promise.allSettled(withImages.map((c) => decoded(c.image_url))).then((results) => {
    let drawn = 0;
    results.forEach((r, i) => {
      if (r.status !== 'fulfilled') return;
      L.imageOverlay(r.value, withImages[i].bounds, { opacity: 0.9, interactive: false }).addTo(overlayPane);
      drawn += 1;
    });
    el.dataset.overlays = String(drawn);
    return drawn;
  });

  // The container may get its final size only after layout.
  requestAnimationFrame(() => map.invalidateSize());

  return { map, setEstimate, ready };
}
