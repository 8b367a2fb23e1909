// The queues (GET /api/queues): how full each one is, what waits in it, and whether it is
// paused; operators and admins pause and resume sked's own queues (POST
// /api/queues/{name}/actions/pause and resume). Refreshed every few seconds while open.

import { api } from '../api.js';
import { h, icon, timeEl, put } from '../dom.js';
import {
  button, field, input, pageHeader, emptyState, errorBox, loading, openDialog, confirmDialog, errorSummary, applyErrors,
  toast,
} from '../components.js';
import { onLeave, isCurrent } from '../router.js';
import { watchRuns } from '../runs.js';
import { can } from '../session.js';

const REFRESH_MS = 3000;

const plural = (n, one, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

/** Running runs against slots: the figure, and a bar for the eye (the figure says it all). */
function loadCell(q) {
  if (q.executor !== 'local' || typeof q.concurrency !== 'number') {
    return h('span', { class: 'stack' }, `${q.busy ?? 0} running`, h('small', { class: 'muted' }, 'on the workers'));
  }
  const pct = q.concurrency > 0 ? Math.min(100, Math.round((q.busy / q.concurrency) * 100)) : 0;
  const full = q.busy >= q.concurrency;
  return h('span', { class: 'load' },
    h('span', { class: 'load-text' }, `${q.busy} of ${q.concurrency}`),
    h('span', { class: `load-bar${full ? ' is-full' : ''}`, 'aria-hidden': 'true' },
      h('span', { class: 'load-fill', style: `width: ${pct}%` })));
}

function waitingCell(q) {
  if (q.queued === null || q.queued === undefined) {
    return h('span', { class: 'muted' }, 'not read yet');
  }
  // the count read before the broker went out of reach would look current
  if (q.executor === 'celery' && q.connected === false) {
    return h('span', { class: 'stack' }, h('span', { 'aria-hidden': 'true' }, '—'),
      h('small', { class: 'muted' }, 'unknown while sked cannot reach the broker'));
  }
  const n = h('span', { class: q.queued > 0 ? 'waiting-count' : null }, q.queued.toLocaleString());
  // a Celery queue's length is its Redis list's: other clients' messages count too
  return q.executor === 'celery' ? h('span', { class: 'stack' }, n, h('small', { class: 'muted' }, 'messages in the broker')) : n;
}

function workersEl(q, openSet) {
  const workers = q.workers || [];
  const online = workers.filter((w) => w.online).length;
  const text = workers.length ? `${online} of ${plural(workers.length, 'worker')} online` : 'No worker has reported';
  const cls = online ? 'yes' : 'warn-text';
  if (!workers.length) return h('span', { class: cls }, icon('alert'), ` ${text}`);
  return h('details', {
    class: 'workers', open: openSet.has(q.name),
    ontoggle: (e) => { if (e.target.open) openSet.add(q.name); else openSet.delete(q.name); },
  },
  h('summary', {}, h('span', { class: cls }, icon(online ? 'check' : 'alert'), ` ${text}`)),
  h('ul', { class: 'worker-list' }, workers.map((w) => h('li', {},
    h('span', { class: 'worker-name' }, w.hostname), ' ',
    h('small', { class: w.online ? 'muted' : 'warn-text' },
      w.online ? `online, ${plural(w.active ?? 0, 'task')} under way` : 'offline', ', heard from ', timeEl(w.last_heartbeat, { fallback: 'never' }))))));
}

function stateCell(q, openSet) {
  if (q.executor === 'celery') {
    // the workers said are those sked heard before it lost the broker
    if (q.connected !== false) return workersEl(q, openSet);
    return h('span', { class: 'stack state' },
      h('span', { class: 'warn-text' }, icon('alert'), ' sked cannot reach the broker'), workersEl(q, openSet));
  }
  const parts = [];
  if (q.paused) {
    parts.push(h('span', { class: 'paused-state' }, icon('pause'), h('strong', {}, 'Paused'),
      q.paused_by ? ` by ${q.paused_by}` : null, ' since ', timeEl(q.paused_at, { full: true })));
    if (q.pause_reason) parts.push(h('span', { class: 'pause-reason' }, `— ${q.pause_reason}`));
  }
  if (q.removed) parts.push(h('span', { class: 'warn-text' }, icon('alert'), ' Removed: finishing its runs'));
  if (!parts.length) parts.push(h('span', { class: 'yes' }, icon('play'), ' Running'));
  return h('span', { class: 'stack state' }, parts);
}

function executorCell(q) {
  if (q.executor !== 'celery') return h('span', {}, q.executor);
  return h('span', { class: 'stack' }, 'celery', h('small', { class: 'muted broker' }, q.broker));
}

// The table is built anew when a refresh brings changes: the control that had the focus gets
// it back in the new table (the same queue's row, the same label), as on the jobs list.
const FOCUSABLE = 'a[href], button, summary';

function focusKey(root) {
  const el = document.activeElement;
  if (!el || el === root || !root.contains(el)) return null;
  const tr = el.closest('tr[data-queue]');
  return { queue: tr ? tr.dataset.queue : null, text: el.textContent, index: [...(tr || root).querySelectorAll(FOCUSABLE)].indexOf(el) };
}

function restoreFocus(root, key) {
  if (!key) return false;
  const scope = key.queue ? root.querySelector(`tr[data-queue="${CSS.escape(key.queue)}"]`) : root;
  const all = scope ? [...scope.querySelectorAll(FOCUSABLE)] : [];
  // the same control, else its row's first (a Pause button that became Resume)
  const el = all.find((e) => e.textContent === key.text) || all[key.index] || all[0];
  if (el) el.focus({ preventScroll: true });
  return !!el;
}

/**
 * A refusal of a queue's pause or resume; a 404 said for what it is: the queue is no longer
 * one of the server's (a reload of its settings took it out since the page was read).
 */
function queueRefusal(err, name) {
  if (err.status !== 404) return err;
  return { status: 404, message: `The queue ${name} no longer exists on this server: reload the Queues page to see the queues it has now` };
}

/** The "Pause" dialog: what pausing does, and an optional reason. onDone(queue) once paused. */
function pauseDialog(q, { onDone, onClose }) {
  const reason = input({ name: 'reason', maxlength: 500, placeholder: 'database upgrade until 14:00' });
  const summary = errorSummary();
  const ok = button('Pause queue', { kind: 'primary', iconName: 'pause', type: 'submit' });
  const cancel = button('Cancel', { kind: 'ghost' });
  const now = [q.queued ? `${plural(q.queued, 'run')} ${q.queued === 1 ? 'waits' : 'wait'}` : 'no run waits',
    q.busy ? `${plural(q.busy, 'run')} ${q.busy === 1 ? 'is' : 'are'} running` : 'none is running'].join(' and ');
  const content = h('div', {},
    summary,
    h('ul', { class: 'pause-effects' },
      h('li', {}, h('strong', {}, 'Waiting runs hold: '), 'they stay QUEUED until the queue is resumed, and so do the runs started or scheduled in it meanwhile.'),
      h('li', {}, h('strong', {}, 'Running runs finish: '), 'nothing is stopped.'),
      h('li', {}, h('strong', {}, 'The pause lasts '), 'across restarts of sked, until someone resumes the queue.')),
    h('p', { class: 'hint pause-now' }, `In ${q.name} now, ${now}.`),
    field({
      label: 'Reason (optional)', control: reason, field: 'reason',
      hint: 'Up to 500 characters, shown here and on the pages of the runs that wait.',
    }));
  let busy = false;
  const dlg = openDialog({
    title: `Pause the queue “${q.name}”?`, content, footer: [cancel, ok], onClose,
    onSubmit: async () => {
      if (busy) return;
      const text = reason.value.trim();
      busy = true;
      ok.disabled = true;
      try {
        const paused = await api.post(`/queues/${encodeURIComponent(q.name)}/actions/pause`, text ? { reason: text } : undefined);
        dlg.close();
        onDone(paused);
      } catch (err) {
        if (err.status === 401) return;
        (applyErrors(dlg.dialog.querySelector('form'), queueRefusal(err, q.name), { what: `Could not pause ${q.name}` }) || ok).focus();
      } finally {
        busy = false;
        ok.disabled = false;
      }
    },
  });
  cancel.addEventListener('click', () => dlg.dismiss());
}

export async function queuesPage(el, { token }) {
  const mayPause = can('pauseQueue');
  const openWorkers = new Set();
  // Refusals of pause and resume stay on the page until the next action, as on the users page.
  const notice = h('div', { class: 'queues-notice' });
  const results = h('div', { class: 'results', 'aria-busy': 'true' }, loading());
  const head = pageHeader('Queues');
  const heading = head.querySelector('h1');
  heading.tabIndex = -1;
  el.append(head,
    h('p', { class: 'hint queues-intro' }, 'A run waits in its queue for a free slot, oldest first.',
      mayPause ? ' Pausing one of sked’s own queues holds its waiting and new runs while running ones finish, for maintenance; Celery queues are paused at their workers.' : null),
    notice, results);

  let timer = null;
  let controller = null;
  let lastJson = '';

  function refused(what, err) {
    if (err.status === 401) return;
    const box = errorBox(err, { what });
    box.tabIndex = -1;
    put(notice, box);
    box.focus();
  }

  /**
   * A refresh may have rebuilt the table while a dialog was open, so the button that opened it
   * is gone when it closes: the focus goes to the queue's row then (its button), else the heading.
   */
  function refocusRow(name) {
    const a = document.activeElement;
    if (a && a !== document.body && a !== el) return;
    if (!restoreFocus(results, { queue: name, text: '', index: 0 })) heading.focus();
  }

  /** After an action: reload at once; the focus moves to the row's new button (Pause ↔ Resume). */
  async function afterAction(name, text) {
    put(notice);
    toast(text);
    await load();
    refocusRow(name);
  }

  function pause(q) {
    pauseDialog(q, {
      onClose: () => refocusRow(q.name),
      onDone: (p) => afterAction(q.name, `Queue ${q.name} paused${p.queued ? `; ${plural(p.queued, 'run')} ${p.queued === 1 ? 'waits' : 'wait'}` : ''}.`),
    });
  }

  async function resume(q) {
    const ok = await confirmDialog({
      title: `Resume the queue “${q.name}”?`,
      message: q.queued
        ? `${q.queued === 1 ? 'Its waiting run starts' : `Its ${plural(q.queued, 'waiting run')} start`} at once, oldest first, as its slots allow (${q.concurrency} at a time).`
        : 'No run waits in it now; runs started in it start again as its slots allow.',
      confirmLabel: 'Resume', danger: false,
    });
    if (!ok) {
      refocusRow(q.name);
      return;
    }
    try {
      await api.post(`/queues/${encodeURIComponent(q.name)}/actions/resume`);
      await afterAction(q.name, `Queue ${q.name} resumed.`);
    } catch (err) {
      refused(`Could not resume ${q.name}`, queueRefusal(err, q.name));
    }
  }

  function actionsCell(q) {
    const id = `qn-${q.name}`;
    const b = (label, opts) => {
      const x = button(label, { small: true, ...opts });
      x.setAttribute('aria-describedby', id);
      return x;
    };
    if (q.executor !== 'local') {
      return h('small', { class: 'muted', title: `celery control cancel_consumer ${q.name}` }, 'Pause it at its workers');
    }
    if (q.paused) return b('Resume…', { iconName: 'play', onclick: () => resume(q) });
    if (q.removed) return h('span', { class: 'muted' }, '—');
    return b('Pause…', { iconName: 'pause', onclick: () => pause(q) });
  }

  function table(queues) {
    const cols = ['Queue', 'Executor', 'Slots', 'Running', 'Waiting', 'State'].concat(mayPause ? ['Actions'] : []);
    return h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive queues-table' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, queues.map((q) => h('tr', { dataset: { queue: q.name }, class: q.paused ? 'is-paused' : null },
        h('td', { 'data-label': 'Queue' }, h('span', { class: 'queue-name', id: `qn-${q.name}` }, q.name)),
        h('td', { 'data-label': 'Executor' }, executorCell(q)),
        h('td', { 'data-label': 'Slots' }, typeof q.concurrency === 'number' ? String(q.concurrency)
          : h('span', { class: 'muted' }, 'set by the workers')),
        h('td', { 'data-label': 'Running' }, loadCell(q)),
        h('td', { 'data-label': 'Waiting' }, waitingCell(q)),
        h('td', { 'data-label': 'State' }, stateCell(q, openWorkers)),
        mayPause ? h('td', { 'data-label': 'Actions' }, actionsCell(q)) : null)))));
  }

  async function load() {
    clearTimeout(timer);
    if (controller) controller.abort();
    controller = new AbortController();
    let data;
    try {
      data = await api.get('/queues', undefined, { signal: controller.signal });
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401 || !isCurrent(token)) return;
      results.setAttribute('aria-busy', 'false');
      lastJson = '';
      put(results, errorBox(err, { what: 'Could not load the queues' }));
      timer = setTimeout(load, REFRESH_MS * 3);
      return;
    }
    if (!isCurrent(token)) return;
    results.setAttribute('aria-busy', 'false');
    // A refresh that changed nothing leaves the table alone (and the focus where it is).
    const json = JSON.stringify(data);
    if (json !== lastJson) {
      lastJson = json;
      const queues = data.hits.hits;
      const focus = focusKey(results);
      put(results, queues.length ? table(queues) : emptyState('No queue is configured.'));
      if (focus && !restoreFocus(results, focus)) heading.focus({ preventScroll: true });
    }
    timer = setTimeout(load, REFRESH_MS);
  }

  const unwatch = watchRuns(() => load());
  onLeave(() => {
    unwatch();
    clearTimeout(timer);
    if (controller) controller.abort();
  });
  await load();
}
