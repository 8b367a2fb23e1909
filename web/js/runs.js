// The runs table of the job page and of the runs page. Rows are kept by run id and rebuilt
// only when their run changed, so polling every 2 s neither flickers nor steals the focus.

import { h, timeEl, statusBadge, durationEl, personName, isActive, fullTime, shortId, put, visibleText } from './dom.js';
import { button } from './components.js';
import { can } from './session.js';
import { stopRun, deleteRun } from './dialogs.js';

const MESSAGE_LINES = 2;

/**
 * Calls onChange (at most every 300 ms) when a run is queued, starts or ends, over
 * GET /api/runs/stream (of one job when jobId is given), so a list shows it at once instead of
 * at its next poll; the pages keep polling, less often, as the fallback. Returns the function
 * that stops watching.
 */
export function watchRuns(onChange, jobId) {
  let timer = null;
  let connected = false;
  let denied = false;
  let es = null;
  const soon = () => {
    if (!timer) timer = setTimeout(() => { timer = null; onChange(); }, 300);
  };
  function open() {
    const stream = new EventSource(jobId ? `/api/runs/stream?job_id=${encodeURIComponent(jobId)}` : '/api/runs/stream');
    stream.addEventListener('status', soon);
    // sent at each (re)connect, and after changes a slow reader missed: the first one is the
    // page's own load
    stream.addEventListener('resync', () => {
      if (connected) soon();
      connected = true;
    });
    stream.addEventListener('denied', () => {
      denied = true;
      stream.close();
    });
    es = stream;
  }
  // Over HTTP/1.1 the browser opens at most 6 connections to a host, and each live page holds
  // one for its stream: a seventh tab would not even load. So a hidden tab gives its stream
  // up; shown again, the new stream's resync reloads what changed meanwhile.
  const onVisibility = () => {
    if (document.hidden) {
      es?.close();
      es = null;
    } else if (!es && !denied) {
      open();
    }
  };
  document.addEventListener('visibilitychange', onVisibility);
  if (document.hidden) connected = true; // opened later: its first resync may bring news
  else open();
  return () => {
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisibility);
    es?.close();
    es = null;
  };
}

function messageCell(run, expanded) {
  if (!run.message) return h('span', { class: 'muted' }, '—');
  const lines = run.message.split('\n');
  const long = lines.length > MESSAGE_LINES || run.message.length > 160;
  const text = h('div', { class: 'message' });
  const btn = long ? h('button', { type: 'button', class: 'linkish', 'aria-expanded': 'false', dataset: { action: 'show-message' } }, 'Show more') : null;
  const show = (all) => {
    put(text, visibleText(all || !long ? run.message : `${lines.slice(0, MESSAGE_LINES).join('\n').slice(0, 160)}…`));
    if (btn) {
      btn.textContent = all ? 'Show less' : 'Show more';
      btn.setAttribute('aria-expanded', String(all));
    }
  };
  if (btn) {
    btn.addEventListener('click', () => {
      const all = btn.getAttribute('aria-expanded') !== 'true';
      if (all) expanded.add(run.id);
      else expanded.delete(run.id);
      show(all);
    });
  }
  show(expanded.has(run.id));
  return h('div', {}, text, btn);
}

// The entries a run counted: the total, and what errored when anything did; all four in the
// tooltip. A run that counted nothing shows a dash.
function entriesCell(run) {
  const n = (v) => (v ?? 0).toLocaleString();
  const counted = [run.total_entries, run.inserted_entries, run.updated_entries, run.errored_entries].some((v) => v);
  if (!counted) return h('span', { class: 'muted' }, '—');
  return h('span', { title: `${n(run.total_entries)} total · ${n(run.inserted_entries)} inserted · ${n(run.updated_entries)} updated · ${n(run.errored_entries)} errored` },
    n(run.total_entries), run.errored_entries ? [' · ', h('span', { class: 'entries-errored' }, `${n(run.errored_entries)} errored`)] : null);
}

/** A run's name: its title, else "Scheduled run 01a22e8b-2280" or "Run 01a22e8b-2280". */
export function runLabel(run) {
  if (run.title) return run.title;
  if (run.trigger === 'scheduled') return `Scheduled run ${shortId(run.id)}`;
  return `Run ${shortId(run.id)}`;
}

/** The control `action` of a run's row (its data-action), else the row's link to its run. */
function controlOf(tr, action) {
  return (action && tr.querySelector(`[data-action="${CSS.escape(action)}"]`)) || tr.querySelector('[data-action="open-run"]');
}

/**
 * createRunsTable({showJob, onChange}) → {el, update(runs)}. `onChange` is called
 * after a stop or a delete so the owner reloads. A row drawn anew (its run changed: stopped,
 * finished) keeps the focus on the same control, else on its link to the run (a Stop gone);
 * a row that went (deleted) gives it to the row now in its place, else to the new last one.
 */
export function createRunsTable({ showJob = false, onChange = () => {} } = {}) {
  const tbody = h('tbody');
  const rows = new Map(); // id -> {sig, tr}
  const expanded = new Set();
  const cols = ['Status', 'Title'].concat(showJob ? ['Job'] : [], ['Queue', 'Created', 'Duration', 'Entries', 'Message', 'Started by', 'Trigger', 'Actions']);
  const el = h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive runs-table' },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))), tbody));

  function row(run) {
    const href = `/jobs/${run.job_id}/runs/${run.id}`;
    const actions = h('div', { class: 'row-actions' },
      isActive(run.status) && can('stop') && run.status !== 'CANCELLING'
        ? button('Stop', { iconName: 'stop', small: true, kind: 'danger-ghost', action: 'stop-run', onclick: () => stopRun(run, { onStopped: onChange }) }) : null,
      !isActive(run.status) && can('deleteRun')
        ? button('Delete', { iconName: 'trash', small: true, kind: 'danger-ghost', action: 'delete-run', onclick: () => deleteRun(run, { onDeleted: onChange }) }) : null);
    return h('tr', { dataset: { runId: run.id } },
      h('td', { 'data-label': 'Status' }, statusBadge(run.status)),
      h('td', { 'data-label': 'Title', class: 'name-cell' }, h('a', { href, dataset: { action: 'open-run' } }, runLabel(run))),
      showJob ? h('td', { 'data-label': 'Job', class: 'name-cell' }, h('a', { href: `/jobs/${run.job_id}`, dataset: { action: 'open-job' } }, run.job_title || run.task)) : null,
      h('td', { 'data-label': 'Queue' }, run.queue),
      h('td', { 'data-label': 'Created', class: 'nowrap' }, timeEl(run.created)),
      h('td', { 'data-label': 'Duration', class: 'nowrap' }, durationEl(run)),
      h('td', { 'data-label': 'Entries', class: 'nowrap' }, entriesCell(run)),
      h('td', { 'data-label': 'Message', class: 'message-cell' }, messageCell(run, expanded)),
      h('td', { 'data-label': 'Started by' }, personName(run.started_by)),
      h('td', { 'data-label': 'Trigger', title: run.scheduled_for ? `Scheduled for ${fullTime(run.scheduled_for)}` : null }, run.trigger),
      h('td', { 'data-label': 'Actions' }, actions));
  }

  // the focused control of the table: its run, what it does, and its row's place
  function focused() {
    const el = document.activeElement;
    const tr = el && tbody.contains(el) ? el.closest('tr[data-run-id]') : null;
    return tr ? { id: tr.dataset.runId, action: el.dataset.action, index: [...tbody.children].indexOf(tr) } : null;
  }

  function refocus(was) {
    if (!was || tbody.contains(document.activeElement)) return;
    const again = rows.get(was.id);
    const tr = again ? again.tr : tbody.children[Math.min(was.index, tbody.children.length - 1)];
    const el = tr ? controlOf(tr, was.action) : null;
    if (el) el.focus({ preventScroll: true });
  }

  function update(runs) {
    const was = focused();
    const keep = new Set();
    const ordered = runs.map((run) => {
      keep.add(run.id);
      const sig = `${run.updated}|${run.status}|${run.job_title}`;
      const old = rows.get(run.id);
      if (old && old.sig === sig) return old.tr;
      const tr = row(run);
      rows.set(run.id, { sig, tr });
      return tr;
    });
    for (const id of [...rows.keys()]) if (!keep.has(id)) rows.delete(id);
    // Moves existing rows instead of recreating them (replaceChildren keeps focus only if the
    // focused node stays in the document, which it does when its row is reused).
    ordered.forEach((tr, i) => {
      if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
    });
    while (tbody.children.length > ordered.length) tbody.lastElementChild.remove();
    refocus(was);
  }

  return { el, update };
}

export const RUN_STATUS_FILTERS = [
  ['', 'Any status'],
  ['QUEUED,RUNNING,CANCELLING', 'Active (queued, running, cancelling)'],
  ['QUEUED', 'Queued'], ['RUNNING', 'Running'], ['SUCCESS', 'Success'], ['PARTIAL_SUCCESS', 'Partial success'],
  ['FAILED', 'Failed'], ['CANCELLING', 'Cancelling'], ['CANCELLED', 'Cancelled'],
];
