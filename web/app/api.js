// The one way the page talks to the service: same origin, relative paths (`/v1/...`), and
// `Authorization: Bearer KEY` when the user entered an API key (kept in sessionStorage).
// Images go through here too (fetch -> blob -> object URL) because <img src> cannot send
// the header.

const KEY_STORAGE = 'georank.apiKey';

/** An API failure: HTTP status plus the service's `{"error": {"kind", "message"}}`. */
export class ApiError extends Error {
  constructor(status, kind, message, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.kind = kind;
    this.retryAfter = retryAfter;
  }
}

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || '';
  } catch {
    return '';
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // sessionStorage unavailable (private mode): the key lives for this page only.
  }
  memoryKey = key;
  clearImageCache();
}

let memoryKey = null;

function currentKey() {
  return memoryKey !== null ? memoryKey : apiKey();
}

const STATUS_KINDS = {
  400: 'invalid_argument',
  401: 'unauthorized',
  404: 'not_found',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'busy',
  503: 'busy',
};

async function errorFrom(response) {
  let kind = STATUS_KINDS[response.status] || `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      if (body.error.kind) kind = String(body.error.kind);
      if (body.error.message) message = String(body.error.message);
    }
  } catch {
    // Not JSON (a proxy's page, an empty body): keep the status line.
  }
  const retry = response.headers.get('Retry-After');
  return new ApiError(response.status, kind, message, retry !== null ? Number(retry) : null);
}

/**
 * Fetches `path` (a same-origin path such as `/v1/runs`) with the API key, if any.
 * Resolves to the Response when it is 2xx; rejects with ApiError otherwise, or with the
 * fetch's own error (TypeError for a network failure, AbortError when `signal` aborts).
 */
export async function apiFetch(path, { method = 'GET', body, signal, headers = {} } = {}) {
  const h = new Headers(headers);
  const key = currentKey();
  if (key) h.set('Authorization', `Bearer ${key}`);
  let response;
  try {
    response = await fetch(path, { method, body, signal, headers: h, credentials: 'same-origin' });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `The service did not answer (${e.message || e}).`);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** GET (or other method) returning the parsed JSON body. */
export async function apiJson(path, options) {
  const response = await apiFetch(path, options);
  return response.json();
}

/** Joins path segments, each encodeURIComponent'ed: apiPath('v1', 'runs', id). */
export function apiPath(...segments) {
  return '/' + segments.map((s) => encodeURIComponent(String(s))).join('/');
}

// Object URLs of images already fetched, keyed by API path. Bounded: the oldest are revoked.
const imageCache = new Map();
const IMAGE_CACHE_MAX = 400;

function clearImageCache() {
  for (const entry of imageCache.values()) {
    entry.then((url) => URL.revokeObjectURL(url), () => {});
  }
  imageCache.clear();
}

/** Resolves to an object URL for the image at `path` (fetched once, with the API key). */
export function imageUrl(path) {
  let entry = imageCache.get(path);
  if (!entry) {
    entry = apiFetch(path)
      .then((r) => r.blob())
      .then((blob) => URL.createObjectURL(blob));
    entry.catch(() => imageCache.delete(path));
    imageCache.set(path, entry);
    while (imageCache.size > IMAGE_CACHE_MAX) {
      const [oldest, oldEntry] = imageCache.entries().next().value;
      imageCache.delete(oldest);
      oldEntry.then((url) => URL.revokeObjectURL(url), () => {});
    }
  }
  return entry;
}
