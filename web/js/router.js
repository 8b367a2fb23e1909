// Client-side routing: the server answers every path without a file extension with
// index.html, so the address bar holds the page and reloads and links keep working.

const routes = [];
let cleanups = [];
let renderToken = 0;
let guard = () => null;
let notFound = () => {};

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

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  return render();
}

/** Changes the query of the current address without rendering the page again. */
export function setQuery(params) {
  const u = new URL(location.href);
  u.search = '';
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) u.searchParams.set(k, v);
  history.replaceState(null, '', u.pathname + u.search);
}

/** True while `token` is still the current page: late answers of a left page are dropped. */
export function isCurrent(token) {
  return token === renderToken;
}

export async function render() {
  leave();
  renderToken += 1;
  const token = renderToken;
  const path = location.pathname;
  const redirect = guard(path);
  if (redirect && redirect !== path + location.search) {
    history.replaceState(null, '', redirect);
    return render();
  }
  const query = new URLSearchParams(location.search);
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = {};
    r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
    return r.handler({ params, query, path, token });
  }
  return notFound({ path, token });
}

export function start() {
  window.addEventListener('popstate', () => render());
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
