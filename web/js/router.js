// Client-side routing: the server answers every path without a file extension with
// index.html, so the address bar holds the page and reloads and links keep working.

const routes = [];
let cleanups = [];
let renderToken = 0;
let guard = () => null;
let notFound = () => {};
// Unsaved work (a form or dialog with something typed in): functions that say whether they
// hold some, and the question that asks whether to leave it (set by the app).
let holds = [];
let askLeave = async () => true;
let asking = false;
// Where this entry is in the session's history, so a Back or Forward that is refused can be
// undone by the same number of steps.
let here = 0;

/** route('/jobs/:id', handler): handler({params, query, path}) renders into the page. */
export function route(pattern, handler) {
  const names = [];
  const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => { names.push(n); return '([^/]+)'; })}/?$`);
  routes.push({ re, names, handler });
}

/** A function run before each page; it may return a path to go to instead. */
export function setGuard(fn) {
  guard = fn;
}

export function setNotFound(fn) {
  notFound = fn;
}

/**
 * Registers `fn`, which says whether something typed would be lost on leaving (a form or dialog
 * that was edited): links, Back, Forward and navigate() then ask first, and a reload or closing
 * the tab gets the browser's own question. Returns the function that unregisters it. A page's
 * are dropped when it is left.
 */
export function holdOnLeave(fn) {
  holds.push(fn);
  return () => { holds = holds.filter((x) => x !== fn); };
}

/** Sets the question asked before unsaved work is left: async () => true to leave. */
export function setLeaveQuestion(fn) {
  askLeave = fn;
}

/** Whether something typed would be lost on leaving the page (see holdOnLeave). */
export function unsaved() {
  return holds.some((fn) => {
    try { return fn(); } catch (e) { return false; }
  });
}

/** Whether the page may be left: true at once when nothing is unsaved, else as the user says. */
export async function mayLeave() {
  if (!unsaved()) return true;
  if (asking) return false;
  asking = true;
  try {
    return await askLeave();
  } finally {
    asking = false;
  }
}

/** Registers what to undo when the page is left: timers, event streams, requests. */
export function onLeave(fn) {
  cleanups.push(fn);
}

function leave() {
  const fns = cleanups;
  cleanups = [];
  for (const fn of fns) {
    try { fn(); } catch (e) { console.error(e); }
  }
}

/**
 * Goes to `path`. Unsaved work is not left unasked unless `force` (the session ended, or the
 * user was already asked); a refused navigation resolves false.
 */
export async function navigate(path, { replace = false, force = false } = {}) {
  if (!force && !await mayLeave()) return false;
  if (replace) {
    history.replaceState({ at: here }, '', path);
  } else {
    here += 1;
    history.pushState({ at: here }, '', path);
  }
  await render();
  return true;
}

/** Whether the entry before this one is a page of this app (not a site the tab came from). */
export function cameFromApp() {
  return here > 0;
}

/** Changes the query of the current address without rendering the page again. */
export function setQuery(params) {
  const u = new URL(location.href);
  u.search = '';
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) u.searchParams.set(k, v);
  history.replaceState(history.state, '', u.pathname + u.search);
}

/** True while `token` is still the current page: late answers of a left page are dropped. */
export function isCurrent(token) {
  return token === renderToken;
}

// the address the page shown was rendered for (path and query)
let rendered = '';

export async function render() {
  leave();
  holds = [];
  renderToken += 1;
  const token = renderToken;
  const path = location.pathname;
  rendered = path + location.search;
  const redirect = guard(path);
  if (redirect && redirect !== path + location.search) {
    history.replaceState(history.state, '', redirect);
    return render();
  }
  const query = new URLSearchParams(location.search);
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = {};
    // decoded, so a param may hold any character ('?', '#', ' '): pages put it back into a
    // path with encodeURIComponent; one that is no valid encoding is taken as written
    r.names.forEach((n, i) => {
      try { params[n] = decodeURIComponent(m[i + 1]); } catch { params[n] = m[i + 1]; }
    });
    return r.handler({ params, query, path, token });
  }
  return notFound({ path, token });
}

// Back or Forward: the address has already changed. With unsaved work the step is undone
// (history.go back by as many entries), and made again once the user chose to leave.
let undoing = false;
async function onPopState(e) {
  if (!(e.state && typeof e.state.at === 'number')) {
    // an entry this session did not make (a #fragment typed in the address bar): numbered
    // after the current one; the same page with another fragment is not rendered again, so
    // what is typed in it stays, and no count of steps is guessed to undo it
    undoing = false;
    history.replaceState({ at: ++here }, '', location.href);
    if (location.pathname + location.search !== rendered) render();
    return;
  }
  const to = e.state.at;
  if (undoing) {
    undoing = false;
    here = to;
    return;
  }
  const steps = to - here;
  if (!unsaved() || !steps) {
    here = to;
    render();
    return;
  }
  undoing = true;
  history.go(-steps);
  if (asking) return; /* the question is already open */
  if (await mayLeave()) {
    holds = [];
    history.go(steps);
  }
}

export function start() {
  // the first entry of this session (a reload keeps the number it had)
  if (history.state && typeof history.state.at === 'number') here = history.state.at;
  else history.replaceState({ at: here }, '', location.href);
  window.addEventListener('popstate', onPopState);
  // a reload or closing the tab: the browser asks in its own words
  window.addEventListener('beforeunload', (e) => {
    if (!unsaved()) return;
    e.preventDefault();
    e.returnValue = '';
  });
  // Plain left clicks on same-origin links change the page without reloading the app.
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  return render();
}
