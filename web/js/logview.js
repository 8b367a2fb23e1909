// A run's log, live. The history is read in pages of 5000 lines, then the SSE stream
// (…/logs/stream?after=N) delivers new lines, progress and status changes until the run ends.
// Only the rows in sight are in the DOM (a pool of ~80 row elements moved over a tall
// spacer), so a log of 100,000 lines scrolls as lightly as one of ten. Lines are kept in
// memory; sked caps a run's log (--log-cap, 16 MiB by default), which bounds that.

import { api, fetchAllLogLines } from './api.js';
import { h, icon, nextId, visibleText, put } from './dom.js';
import { button, select } from './components.js';

// Line times in the browser's zone, as every other time of the UI; the full UTC instant is the
// line's tooltip and the download's.
const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hourCycle: 'h23',
});
const zoneName = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' })
  .formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value || 'local time';

const ROW = 20; // px; must match .log-row's height in app.css
const OVERSCAN = 15;
const LEVELS = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 };
const TERMINAL = ['SUCCESS', 'PARTIAL_SUCCESS', 'FAILED', 'CANCELLED', 'WARNING'];

/**
 * `onConnection(up)`: the stream (re)connected (true) or lost its connection (false), so the
 * page can say when what it shows may be out of date.
 */
export function createLogView({ jobId, runId, onRun = () => {}, onProgress = () => {}, onConnection = () => {} }) {
  const lines = [];
  let view = []; // indexes into lines that pass the filters
  let lastSeq = 0;
  let levelMin = 0;
  let needle = '';
  let follow = true;
  let es = null;
  let destroyed = false;
  let reopenTimer = null;
  let frame = 0;
  const abort = new AbortController();

  // ---- toolbar ----
  const levelSel = select([['DEBUG', 'All levels'], ['INFO', 'Info and above'], ['WARNING', 'Warnings and above'], ['ERROR', 'Errors and above']]);
  const levelId = nextId('lvl');
  levelSel.id = levelId;
  const search = h('input', { type: 'search', placeholder: 'Find in log', id: nextId('find') });
  const followBox = h('input', { type: 'checkbox', id: nextId('follow'), checked: true });
  const downloadBtn = button('Download log', { iconName: 'download', small: true });
  // not a live region: during a live run it changes with every line. What a filter leaves is
  // said once, when the filter changes (`found`).
  const counter = h('span', { class: 'log-count' });
  const found = h('span', { class: 'visually-hidden', role: 'status' });
  let announce = false;
  const zone = h('span', { class: 'log-zone', title: 'Line times are in your time zone; hover a time for UTC.' }, `Times in ${zoneName}`);
  const live = h('span', { class: 'log-live' });
  const toolbar = h('div', { class: 'log-toolbar' },
    h('label', { for: levelId, class: 'tb-label' }, 'Level'), levelSel,
    h('label', { for: search.id, class: 'visually-hidden' }, 'Search log'),
    h('span', { class: 'search-box small' }, icon('search'), search),
    h('label', { class: 'inline-check', for: followBox.id }, followBox, ' Follow'),
    downloadBtn, live, zone, counter, found);

  // ---- the windowed list ----
  const rowsEl = h('div', { class: 'log-rows' });
  const spacer = h('div', { class: 'log-spacer' }, rowsEl);
  const empty = h('div', { class: 'log-empty' }, 'No log lines yet.');
  const viewport = h('div', {
    class: 'log-viewport', tabindex: '0', role: 'region', 'aria-label': 'Log lines',
  }, spacer, empty);
  // not a second region named "Log": the run page's section around it has that name
  const el = h('div', { class: 'logview' }, toolbar, viewport);
  const pool = [];

  function matches(l) {
    return (LEVELS[l.level] ?? 1) >= levelMin && (!needle || l.message.toLowerCase().includes(needle));
  }

  function refilter() {
    announce = true;
    view = [];
    for (let i = 0; i < lines.length; i++) if (matches(lines[i])) view.push(i);
    schedule(true);
  }

  // the message with what the search found marked (the lower-cased text has the same length
  // as the text for all but a few characters; where it has not, the line is shown unmarked)
  function highlight(msg, text) {
    const lower = text.toLowerCase();
    if (lower.length !== text.length) {
      put(msg, visibleText(text));
      return;
    }
    const parts = [];
    let at = 0;
    for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, i + needle.length)) {
      parts.push(visibleText(text.slice(at, i)), h('mark', {}, visibleText(text.slice(i, i + needle.length))));
      at = i + needle.length;
    }
    parts.push(visibleText(text.slice(at)));
    put(msg, parts);
  }

  function rowEl() {
    const r = h('div', { class: 'log-row' },
      h('span', { class: 'ln' }), h('span', { class: 'ts' }), h('span', { class: 'lv' }), h('span', { class: 'msg' }));
    return r;
  }

  function paint() {
    frame = 0;
    spacer.style.height = `${view.length * ROW}px`;
    // As tall as its lines, up to a good half of the window: short logs take little room.
    const max = Math.max(256, Math.round(window.innerHeight * 0.6));
    viewport.style.height = `${Math.min(max, Math.max(160, view.length * ROW + 2))}px`;
    if (follow) viewport.scrollTop = viewport.scrollHeight;
    const top = viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const count = Math.min(view.length - first, Math.ceil(viewport.clientHeight / ROW) + 2 * OVERSCAN);
    while (pool.length < count) {
      const r = rowEl();
      pool.push(r);
      rowsEl.append(r);
    }
    rowsEl.style.transform = `translateY(${first * ROW}px)`;
    for (let i = 0; i < pool.length; i++) {
      const r = pool[i];
      if (i >= count) {
        if (!r.hidden) {
          r.hidden = true;
          for (const c of r.children) c.textContent = '';
        }
        continue;
      }
      const l = lines[view[first + i]];
      r.hidden = false;
      r.className = `log-row lvl-${l.level.toLowerCase()}`;
      const [ln, ts, lv, msg] = r.children;
      ln.textContent = String(l.seq);
      ts.textContent = timeFmt.format(new Date(l.timestamp));
      ts.title = l.timestamp;
      lv.textContent = l.stream === 'stdout' ? l.level : `${l.level} ${l.stream}`;
      if (needle) highlight(msg, l.message);
      else put(msg, visibleText(l.message));
    }
    empty.hidden = view.length > 0;
    empty.textContent = lines.length ? 'No line matches the filters.' : 'No log lines yet.';
    counter.textContent = view.length === lines.length
      ? `${lines.length.toLocaleString()} line${lines.length === 1 ? '' : 's'}`
      : `${view.length.toLocaleString()} of ${lines.length.toLocaleString()} lines`;
    if (announce) {
      announce = false;
      found.textContent = `${counter.textContent} shown.`;
    }
  }

  function schedule(now = false) {
    if (destroyed) return;
    if (now) {
      if (frame) cancelAnimationFrame(frame);
      paint();
      return;
    }
    if (!frame) frame = requestAnimationFrame(paint);
  }

  function add(batch) {
    for (const l of batch) {
      // a reconnect continues after Last-Event-ID, but never show a line twice
      if (l.seq <= lastSeq) continue;
      lastSeq = l.seq;
      lines.push(l);
      if (matches(l)) view.push(lines.length - 1);
    }
    schedule();
  }

  // Scrolling away from the end pauses following; scrolling back to it resumes.
  viewport.addEventListener('scroll', () => {
    const atEnd = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - ROW;
    if (follow !== atEnd && view.length) {
      follow = atEnd;
      followBox.checked = atEnd;
    }
    schedule();
  }, { passive: true });
  followBox.addEventListener('change', () => {
    follow = followBox.checked;
    schedule(true);
  });
  levelSel.addEventListener('change', () => {
    levelMin = LEVELS[levelSel.value];
    refilter();
  });
  let searchTimer = 0;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      needle = search.value.trim().toLowerCase();
      refilter();
    }, 150);
  });
  new ResizeObserver(() => schedule()).observe(viewport);

  downloadBtn.addEventListener('click', async () => {
    downloadBtn.disabled = true;
    live.textContent = 'Preparing the download…';
    try {
      // Always the full log from the server, whatever is loaded or filtered here.
      const { lines: all } = await fetchAllLogLines(jobId, runId, { signal: abort.signal });
      const text = all.map((l) => `${l.seq}\t${l.timestamp}\t${l.level}\t${l.stream}\t${l.message}`).join('\n');
      const url = URL.createObjectURL(new Blob([`${text}\n`], { type: 'text/plain' }));
      const a = h('a', { href: url, download: `sked-run-${runId}.txt`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      live.textContent = `Downloaded ${all.length.toLocaleString()} lines.`;
    } catch (err) {
      if (err.name !== 'AbortError') live.textContent = `Download failed: ${err.message}`;
    } finally {
      downloadBtn.disabled = false;
    }
  });

  function setLive(text, cls = '') {
    live.textContent = text;
    live.className = `log-live ${cls}`;
  }

  function openStream() {
    // EventSource sends the session cookie; reconnects resume with Last-Event-ID.
    es = new EventSource(`/api/jobs/${jobId}/runs/${runId}/logs/stream?after=${lastSeq}`);
    es.addEventListener('open', () => {
      setLive('● Live', 'is-live');
      onConnection(true);
    });
    es.addEventListener('log', (e) => add([JSON.parse(e.data)]));
    es.addEventListener('progress', (e) => onProgress(JSON.parse(e.data)));
    es.addEventListener('status', (e) => onRun(JSON.parse(e.data).run));
    // The server sends `end` after the run's final status: close, or the browser would
    // reconnect every 2 s.
    es.addEventListener('end', () => {
      es.close();
      es = null;
      setLive('The run has finished; the log is complete.');
    });
    es.addEventListener('error', () => {
      if (!es) return;
      onConnection(false);
      if (es.readyState === EventSource.CLOSED) {
        setLive('Live updates stopped', 'is-error');
        // Most likely the session ended: a plain request lets the app notice a 401. Or a
        // proxy answered for a server that is down (502, 504): the browser gives up on such
        // an answer, so the stream is opened again every few seconds until it is back.
        api.get('/session').catch(() => {});
        es = null;
        clearTimeout(reopenTimer);
        reopenTimer = setTimeout(() => { if (!destroyed && !es) openStream(); }, 3000);
      } else {
        setLive('Reconnecting…');
      }
    });
  }

  async function start(run) {
    follow = TERMINAL.includes(run.status) ? false : true;
    followBox.checked = follow;
    setLive('Loading the log…');
    try {
      const { last } = await fetchAllLogLines(jobId, runId, {
        signal: abort.signal,
        onPage: (hits) => {
          add(hits);
          setLive(`Loading the log… ${lines.length.toLocaleString()} lines`);
        },
      });
      if (destroyed) return;
      schedule(true);
      if (last.complete) {
        setLive('The run has finished; the log is complete.');
        // It may have ended while the history was read: show its final state.
        if (!TERMINAL.includes(run.status)) onRun(await api.get(`/jobs/${jobId}/runs/${runId}`));
        return;
      }
      openStream();
    } catch (err) {
      if (err.name !== 'AbortError') setLive(`The log could not be read: ${err.message}`, 'is-error');
    }
  }

  function destroy() {
    destroyed = true;
    clearTimeout(reopenTimer);
    abort.abort();
    if (es) es.close();
    es = null;
    if (frame) cancelAnimationFrame(frame);
  }

  return { el, start, destroy };
}
