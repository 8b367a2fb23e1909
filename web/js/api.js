// The REST API client. Every request of the UI goes through `request`, so the session's CSRF
// token, JSON bodies, error bodies and the "signed out" reaction live in one place.

let csrfToken = null;
let onSignedOut = () => {};
let onForbidden = () => {};

/**
 * A refusal for the role says which request needed it ("Permission denied: POST
 * /api/jobs/{}/runs needs the operator or admin role (you are viewer)."): the UI says "this"
 * instead of the server's path.
 */
function plainMessage(message) {
  return String(message).replace(/^Permission denied: [A-Z]+ \/api\/\S* needs /, 'Permission denied: this needs ')
    // "(see GET /api/queues)": a pointer for the API's clients, which the pages need not show
    .replace(/ \(see [A-Z]+ \/api\/[^)]*\)/g, '');
}

/**
 * The API's error body ({status, message, errors:[{field, messages}]}) as an exception.
 * `notFromSked`: the answer was not the API's (no JSON: a proxy's page); `statusText` says its
 * status in words, for errorText().
 */
export class ApiError extends Error {
  constructor(status, body, { notFromSked = false, statusText = '' } = {}) {
    super(plainMessage((body && body.message) || `HTTP ${status}`));
    this.status = status;
    this.body = body || {};
    this.errors = Array.isArray(this.body.errors) ? this.body.errors : [];
    this.notFromSked = notFromSked;
    this.statusText = statusText;
  }
}

export function setCsrf(token) {
  csrfToken = token || null;
}

/** Called once with a function that shows the signed-out state; see request(). */
/** fn() runs after a 403 "Permission denied": the caller's role may have changed. */
export function whenForbidden(fn) {
  onForbidden = fn;
}

export function whenSignedOut(fn) {
  onSignedOut = fn;
}

/** A query string from an object; empty, null and undefined values are left out. */
export function qs(params = {}) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

export async function request(method, path, { body, query, signal, headers: extra } = {}) {
  const headers = { ...extra };
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  // The server refuses state-changing requests of a session without the token (403).
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(`/api${path}${qs(query)}`, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { message: `The server cannot be reached (${e.message}).` });
  }
  const text = await res.text();
  let data = null;
  let notFromSked = !text; /* the API answers every error with a JSON body */
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      // not the API's own answer (a proxy's page): its text when short and plain, else its status
      const plain = text.trim();
      data = { message: plain && plain.length <= 200 && !/^</.test(plain) ? plain : `HTTP ${res.status} ${res.statusText}`.trim() };
      notFromSked = true;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data || { message: res.statusText }, { notFromSked, statusText: res.statusText });
    // a body too large (413) is said by the part of it that made it so
    if (res.status === 413 && body !== undefined) {
      err.sent = body;
      err.sentBytes = new Blob([init.body]).size;
    }
    // 401 on anything but signing in means the session is gone (expired, signed out
    // elsewhere, account disabled): show the sign-in page instead of a broken one.
    if (res.status === 401 && !(method === 'POST' && path === '/session')) onSignedOut(err);
    if (res.status === 403 && /^Permission denied/.test(err.message)) onForbidden(err);
    throw err;
  }
  return data;
}

export const api = {
  get: (path, query, opts = {}) => request('GET', path, { ...opts, query }),
  post: (path, body, opts = {}) => request('POST', path, { ...opts, body }),
  patch: (path, body, opts = {}) => request('PATCH', path, { ...opts, body }),
  del: (path, opts = {}) => request('DELETE', path, opts),
};

/**
 * Takes the page and size a list was answered as (its links.self) into state: a page whose
 * items are large (runs with big arguments) is answered at a smaller size, numbered so that
 * it starts at the item asked for, and its neighbours are of that size. True when they changed.
 */
export function pageServed(data, state) {
  const self = data && data.links && data.links.self;
  if (!self) return false;
  const q = new URL(self, location.href).searchParams;
  const page = Number(q.get('page'));
  const size = Number(q.get('size'));
  if (!(page >= 1 && size >= 1) || (page === state.page && size === state.size)) return false;
  Object.assign(state, { page, size });
  return true;
}

/**
 * The first `limit` items of a list (asked for with size=limit), following links.next past
 * pages the server answered with fewer: a page of large items holds what fits.
 */
export async function listItems(path, query, { limit, signal } = {}) {
  let data = await api.get(path, { ...query, size: limit }, { signal });
  const items = [...data.hits.hits];
  while (items.length < limit && data.hits.hits.length && data.links && data.links.next) {
    // the link names the server's public address: its path from /api/ on is the request
    const u = new URL(data.links.next, location.href);
    const at = u.pathname.indexOf('/api/');
    if (at < 0) break;
    data = await request('GET', u.pathname.slice(at + 4) + u.search, { signal });
    items.push(...data.hits.hits);
  }
  return items.slice(0, limit);
}

/** Every line of a run's log, oldest first, in pages of up to 5000 lines (the API's largest
 * page; one of long lines holds fewer, and links.next goes on after it). */
export async function fetchAllLogLines(jobId, runId, { after = 0, signal, onPage } = {}) {
  const lines = [];
  let cursor = after;
  for (;;) {
    const page = await api.get(`/jobs/${jobId}/runs/${runId}/logs`, { after: cursor, limit: 5000 }, { signal });
    const hits = page.hits.hits;
    for (const l of hits) lines.push(l);
    if (onPage) onPage(hits, page);
    if (!page.links || !page.links.next) return { lines, last: page };
    cursor = page.after;
  }
}
