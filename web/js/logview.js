// A run's log, live. The history is read in pages of 5000 lines, then the SSE stream
// (…/logs/stream?after=N) delivers new lines, progress and status changes until the run ends.
// Only the rows in sight are in the DOM (a pool of ~80 row elements moved over a tall
// spacer), so a log of 100,000 lines scrolls as lightly as one of ten. Lines are kept in
// memory; sked caps a run's log (--log-cap, 16 MiB by default), which bounds that.

import { api, fetchAllLogLines } from './api.js';
import { h, icon, nextId, visibleText, put } from './dom.js';
import { button, select, errorText } from './components.js';

// Line times in the browser's zone, as every other time of the UI; the full UTC instant is the
// line's tooltip and the download's.
const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3, hourCycle: 'h23',
});
const zoneName = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' })
  .formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value || 'local time';

/** A line's time as [hours to seconds, the fraction with its separator]: a phone shows the first alone. */
function clock(iso) {
  const parts = timeFmt.formatToParts(new Date(iso));
  let cut = parts.findIndex((p) => p.type === 'fractionalSecond');
  if (cut < 0) cut = parts.length;
  else if (cut > 0 && parts[cut - 1].type === 'literal') cut -= 1;
  const text = (ps) => ps.map((p) => p.value).join('');
  return [text(parts.slice(0, cut)), text(parts.slice(cut))];
}

// ANSI escape sequences, as a task that writes for a terminal prints them: CSI is ESC [, then
// parameters, intermediates and a final letter. SGR (final m) sets how the text looks; every
// other one (clearing the line, moving the cursor) means nothing here and is left out.
const CSI = /\x1b\[([0-?]*)([ -/]*)([@-~])/g;
// xterm's 16 colours, to find the nearest for a 256-colour or RGB one
const BASIC = [[0, 0, 0], [205, 0, 0], [0, 205, 0], [205, 205, 0], [0, 0, 238], [205, 0, 205], [0, 205, 205], [229, 229, 229],
  [127, 127, 127], [255, 0, 0], [0, 255, 0], [255, 255, 0], [92, 92, 255], [255, 0, 255], [0, 255, 255], [255, 255, 255]];

function nearest([r, g, b]) {
  let best = -1;
  let dist = Infinity;
  BASIC.forEach(([x, y, z], i) => {
    const d = (r - x) ** 2 + (g - y) ** 2 + (b - z) ** 2;
    if (d < dist) {
      dist = d;
      best = i;
    }
  });
  return best;
}

/** The basic colour (0-15) for 38;5;N / 38;2;R;G;B at codes[i] (the 5 or 2); -1 if none. Returns [colour, codes used]. */
function extendedColour(codes, i) {
  if (codes[i] === 5) {
    const n = codes[i + 1];
    if (!(n >= 0 && n <= 255)) return [-1, 2];
    if (n < 16) return [n, 2];
    if (n >= 232) {
      const v = 8 + 10 * (n - 232);
      return [nearest([v, v, v]), 2];
    }
    const level = (v) => (v ? 55 + 40 * v : 0);
    const c = n - 16;
    return [nearest([level(Math.floor(c / 36)), level(Math.floor(c / 6) % 6), level(c % 6)]), 2];
  }
  if (codes[i] === 2) {
    const rgb = codes.slice(i + 1, i + 4);
    return [rgb.length === 3 && rgb.every((v) => v >= 0 && v <= 255) ? nearest(rgb) : -1, 4];
  }
  return [-1, 1];
}

/** Applies the SGR parameters ("1;32", "" for a reset) to style. */
function applySgr(style, params) {
  const codes = params === '' ? [0] : params.split(';').map((p) => (p === '' ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) Object.assign(style, { fg: -1, bg: -1, bold: false, dim: false, italic: false, underline: false });
    else if (c === 1) style.bold = true;
    else if (c === 2) style.dim = true;
    else if (c === 3) style.italic = true;
    else if (c === 4) style.underline = true;
    else if (c === 22) style.bold = style.dim = false;
    else if (c === 23) style.italic = false;
    else if (c === 24) style.underline = false;
    else if (c >= 30 && c <= 37) style.fg = c - 30;
    else if (c >= 90 && c <= 97) style.fg = c - 82;
    else if (c === 39) style.fg = -1;
    else if (c >= 40 && c <= 47) style.bg = c - 40;
    else if (c >= 100 && c <= 107) style.bg = c - 92;
    else if (c === 49) style.bg = -1;
    else if (c === 38 || c === 48) {
      const [colour, used] = extendedColour(codes, i + 1);
      if (colour >= 0) style[c === 38 ? 'fg' : 'bg'] = colour;
      i += used;
    }
  }
}

function styleClass(style) {
  return [style.fg >= 0 ? `ansi-fg${style.fg}` : '', style.bg >= 0 ? `ansi-bg${style.bg}` : '', style.bold ? 'ansi-bold' : '',
    style.dim ? 'ansi-dim' : '', style.italic ? 'ansi-italic' : '', style.underline ? 'ansi-underline' : ''].filter(Boolean).join(' ');
}

/**
 * A message as shown: {text} without escape sequences (what search reads), and {runs} of text
 * with the class of its look ([{text, cls}]; null when the message has no escape sequence).
 */
export function parseAnsi(message) {
  if (!message.includes('\x1b[')) return { text: message, runs: null };
  const style = { fg: -1, bg: -1, bold: false, dim: false, italic: false, underline: false };
  const runs = [];
  let cls = '';
  let text = '';
  let at = 0;
  const push = (t) => {
    if (!t) return;
    text += t;
    const last = runs[runs.length - 1];
    if (last && last.cls === cls) last.text += t;
    else runs.push({ text: t, cls });
  };
  for (const m of message.matchAll(CSI)) {
    push(message.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[3] === 'm' && !m[2] && /^[0-9;]*$/.test(m[1])) {
      applySgr(style, m[1]);
      cls = styleClass(style);
    }
  }
  push(message.slice(at));
  return { text, runs };
}

/** A log line's message as shown (parseAnsi), worked out once and kept with the line. */
function shown(l) {
  if (!l.shown) l.shown = parseAnsi(l.message);
  return l.shown;
}

const ROW = 20; // px; must match .log-row's height in app.css
// Browsers cap an element's height (Chromium at 33,554,432 px, Firefox near 17.9 million), so
// a spacer of 20 px a line would leave the lines past about 1.6 million out of reach. Past
// this height the spacer stays this tall and the scroll position maps to a line by scale.
const MAX_SPACER = 8000000;
// Lines the stream may bring between two paints before the page counts itself far behind (a
// run writing faster than one event a line is taken) and reads the rest in pages instead.
const BURST = 2000;
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
  let streaming = false; // the stream is wanted: opened, and the run has not ended
  let catching = false; // catchUp() is reading pages
  let burst = 0; // lines from the stream since the last paint
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
    return (LEVELS[l.level] ?? 1) >= levelMin && (!needle || shown(l).text.toLowerCase().includes(needle));
  }

  function refilter() {
    announce = true;
    view = [];
    for (let i = 0; i < lines.length; i++) if (matches(lines[i])) view.push(i);
    schedule(true);
  }

  // the message with what the search found marked, without its colours (the lower-cased text
  // has the same length as the text for all but a few characters; where it has not, the line
  // is shown unmarked)
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
      h('span', { class: 'ln' }), h('span', { class: 'ts' }, h('span', { class: 'hms' }), h('span', { class: 'ms' })),
      h('span', { class: 'lv' }), h('span', { class: 'msg' }));
    return r;
  }

  function paint() {
    frame = 0;
    burst = 0;
    const total = view.length * ROW;
    const height = Math.min(total, MAX_SPACER);
    spacer.style.height = `${height}px`;
    // As tall as its lines, up to a good half of the window: short logs take little room.
    const max = Math.max(256, Math.round(window.innerHeight * 0.6));
    viewport.style.height = `${Math.min(max, Math.max(160, total + 2))}px`;
    if (follow) viewport.scrollTop = viewport.scrollHeight;
    const top = viewport.scrollTop;
    // Where the lines would be scrolled to in a spacer of full height: the scroll range of the
    // capped one stretched to the full range, so its start and end are the log's start and end.
    const seen = viewport.clientHeight;
    const scale = total > height && height > seen ? (total - seen) / (height - seen) : 1;
    const virtualTop = top * scale;
    const first = Math.max(0, Math.floor(virtualTop / ROW) - OVERSCAN);
    const count = Math.min(view.length - first, Math.ceil(seen / ROW) + 2 * OVERSCAN);
    while (pool.length < count) {
      const r = rowEl();
      pool.push(r);
      rowsEl.append(r);
    }
    // the rows placed where the scrolled-to line is in sight (top - virtualTop is 0 unscaled)
    rowsEl.style.transform = `translateY(${first * ROW + top - virtualTop}px)`;
    for (let i = 0; i < pool.length; i++) {
      const r = pool[i];
      if (i >= count) {
        if (!r.hidden) {
          r.hidden = true;
          for (const c of [r.children[0], ...r.children[1].children, r.children[2], r.children[3]]) c.textContent = '';
        }
        continue;
      }
      const l = lines[view[first + i]];
      r.hidden = false;
      r.className = `log-row lvl-${l.level.toLowerCase()}`;
      const [ln, ts, lv, msg] = r.children;
      ln.textContent = String(l.seq);
      if (!l.clock) l.clock = clock(l.timestamp);
      ts.children[0].textContent = l.clock[0];
      ts.children[1].textContent = l.clock[1];
      ts.title = l.timestamp;
      lv.textContent = l.stream === 'stdout' ? l.level : `${l.level} ${l.stream}`;
      const { text, runs } = shown(l);
      if (needle) highlight(msg, text);
      else if (runs) put(msg, runs.map((x) => (x.cls ? h('span', { class: x.cls }, visibleText(x.text)) : visibleText(x.text))));
      else put(msg, visibleText(text));
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
      if (err.name !== 'AbortError') live.textContent = errorText(err, 'Could not download the log');
    } finally {
      downloadBtn.disabled = false;
    }
  });

  function setLive(text, cls = '') {
    live.textContent = text;
    live.className = `log-live ${cls}`;
  }

  function openStream() {
    streaming = true;
    // a hidden tab holds no stream (see onVisibility): it opens when the tab is shown
    if (document.hidden) {
      setLive('Paused while the tab is hidden');
      return;
    }
    // EventSource sends the session cookie; reconnects resume with Last-Event-ID.
    es = new EventSource(`/api/jobs/${jobId}/runs/${runId}/logs/stream?after=${lastSeq}`);
    es.addEventListener('open', () => {
      setLive('● Live', 'is-live');
      onConnection(true);
    });
    es.addEventListener('log', (e) => {
      add([JSON.parse(e.data)]);
      if (++burst > BURST && !catching) catchUp();
    });
    es.addEventListener('progress', (e) => onProgress(JSON.parse(e.data)));
    es.addEventListener('status', (e) => onRun(JSON.parse(e.data).run));
    // The server sends `end` after the run's final status: close, or the browser would
    // reconnect every 2 s.
    es.addEventListener('end', () => {
      es.close();
      es = null;
      streaming = false;
      setLive('The run has finished; the log is complete.');
    });
    // The run was deleted while this page was behind: what is shown is not the whole log.
    es.addEventListener('deleted', () => {
      es.close();
      es = null;
      streaming = false;
      setLive('The run was deleted: its log is gone, and what is shown here may lack its end.', 'is-error');
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

  // A page far behind (shown again after a while hidden, or outrun by a run that writes fast)
  // would be sent every missed line as an event of its own, each one a task of the page's
  // thread. It reads them in pages of 5000 instead, up to the end of what is stored, then
  // opens the stream after the last one (add() drops a line it has: none is shown twice).
  async function catchUp() {
    catching = true;
    streaming = true;
    clearTimeout(reopenTimer);
    if (es) {
      es.close();
      es = null;
    }
    setLive('Catching up…');
    let last;
    try {
      ({ last } = await fetchAllLogLines(jobId, runId, { after: lastSeq, signal: abort.signal, onPage: add }));
    } catch (err) {
      catching = false;
      // the stream says when the server can be reached again
      if (err.name !== 'AbortError' && !destroyed) openStream();
      return;
    }
    catching = false;
    if (destroyed) return;
    if (!last.complete) {
      openStream();
      return;
    }
    // it ended meanwhile: its final state (status and counts) as the stream's end would bring
    streaming = false;
    setLive('The run has finished; the log is complete.');
    onRun(await api.get(`/jobs/${jobId}/runs/${runId}`).catch(() => null));
  }

  // Over HTTP/1.1 the browser opens at most 6 connections to a host, and each live page holds
  // one for its stream: a seventh tab would not even load. So a hidden tab gives its stream
  // up, and once shown again reads what it missed and opens it after the last line it has.
  function onVisibility() {
    if (destroyed || !streaming) return;
    if (document.hidden) {
      clearTimeout(reopenTimer);
      if (es) {
        es.close();
        es = null;
        setLive('Paused while the tab is hidden');
      }
    } else if (!es && !catching) {
      catchUp();
    }
  }
  document.addEventListener('visibilitychange', onVisibility);

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
      if (err.name !== 'AbortError') setLive(errorText(err, 'Could not read the log'), 'is-error');
    }
  }

  function destroy() {
    destroyed = true;
    document.removeEventListener('visibilitychange', onVisibility);
    clearTimeout(reopenTimer);
    abort.abort();
    if (es) es.close();
    es = null;
    if (frame) cancelAnimationFrame(frame);
  }

  return { el, start, destroy };
}
