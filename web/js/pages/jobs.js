// The jobs list: search, filters, order and pages are the API's (server-side), so it stays
// fast with any number of jobs. The filters live in the address, so reloads and the back
// button keep them.

import { api, pageServed } from '../api.js';
import { h, icon, timeEl, statusBadge, debounce, describeSchedule, personName, isActive, parseTime, put } from '../dom.js';
import { button, pager, pageHeader, emptyState, errorBox, loading, select, showPager } from '../components.js';
import { navigate, onLeave, setQuery, isCurrent } from '../router.js';
import { can } from '../session.js';
import { configureAndRun, scheduleDialog, deleteJob } from '../dialogs.js';
import { getTasks } from '../catalog.js';
import { watchRuns } from '../runs.js';

// The orders offered, by their name in the address ('' is the API's default: by title).
const ORDERS = new Map([
  ['', { label: 'Title, A to Z', sort: 'title', dir: 'asc' }],
  ['newest', { label: 'Newest first', sort: 'created', dir: 'desc' }],
  ['updated', { label: 'Recently changed', sort: 'updated', dir: 'desc' }],
]);

// the list's parameters as the page names them, for a refusal of one (a link's ?size=5000)
const FILTER_NAMES = { q: 'Search', active: 'Active filter', task: 'Job type filter', page: 'Page', size: 'Results per page' };

export async function jobsPage(el, { query, token }) {
  const state = {
    q: query.get('q') || '',
    active: query.get('active') || '',
    task: query.get('task') || '',
    order: ORDERS.has(query.get('order')) ? query.get('order') : '',
    page: Math.max(1, Number(query.get('page')) || 1),
    size: Number(query.get('size')) || 25,
  };

  const search = h('input', {
    type: 'search', value: state.q, placeholder: 'Title or description', 'aria-label': 'Search jobs', class: 'search',
  });
  const activeSel = select([['', 'All jobs'], ['true', 'Active only'], ['false', 'Inactive only']], {
    value: state.active, 'aria-label': 'Active filter',
  });
  const tasks = new Map((await getTasks().catch(() => [])).map((t) => [t.id, t]));
  const taskSel = select([['', 'Every job type'], ...[...tasks.values()].map((t) => [t.id, t.title])], {
    value: state.task, 'aria-label': 'Job type filter',
  });
  const orderSel = select([...ORDERS.entries()].map(([k, o]) => [k, o.label]), { value: state.order, 'aria-label': 'Order' });
  // not a live region: it is refreshed every few seconds, which would be read out each time
  const results = h('div', { class: 'results', 'aria-busy': 'true' }, loading());
  // the table and the pager apart, so that the pager's control that has the focus keeps it
  const tableSlot = h('div');
  const pagerSlot = h('div', { class: 'pager-slot' });

  el.append(
    pageHeader('Jobs', [can('create') ? button('Create', { kind: 'create', iconName: 'plus', onclick: () => navigate('/jobs/new') }) : null]),
    h('div', { class: 'filters', role: 'search' },
      h('label', { class: 'search-box' }, icon('search'), search),
      activeSel, taskSel, orderSel),
    results);

  let controller = null;
  let timer = null;
  let lastJson = '';
  let focusAfterDelete = false; // a row's action (a deletion) asked for the list again
  const remember = () => setQuery({
    q: state.q, active: state.active, task: state.task, order: state.order,
    page: state.page > 1 ? state.page : '', size: state.size !== 25 ? state.size : '',
  });

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    clearTimeout(timer);
    remember();
    const { sort, dir } = ORDERS.get(state.order);
    results.setAttribute('aria-busy', 'true');
    let data;
    try {
      data = await api.get('/jobs', {
        q: state.q, active: state.active, task: state.task, sort, sort_direction: dir, page: state.page, size: state.size,
      }, { signal: controller.signal });
    } catch (err) {
      if (err.name === 'AbortError' || !isCurrent(token)) return;
      put(results, errorBox(err, { what: 'Could not load the jobs', names: FILTER_NAMES }));
      lastJson = ''; // the table is gone: drawn again once an answer comes
      // a server out of reach (or a proxy's 5xx) comes back: asked again until it does
      if (err.status === 0 || err.status >= 500) timer = setTimeout(load, 5000);
      return;
    }
    if (!isCurrent(token)) return;
    if (pageServed(data, state)) remember();
    const jobs = data.hits.hits;
    const total = data.hits.total;
    // A page past the end (after deletions or a narrower search): show the last one.
    // (a lower page only: a count the rows disagree with cannot make it loop)
    if (!jobs.length && state.page > Math.ceil(total / state.size) && total > 0) {
      state.page = Math.ceil(total / state.size);
      return load();
    }
    results.setAttribute('aria-busy', 'false');
    // A refresh that changed nothing leaves the table alone (and the focus where it is).
    const json = JSON.stringify(data);
    if (json === lastJson) {
      schedule(jobs);
      return;
    }
    lastJson = json;
    if (!jobs.length) {
      // the focused row was deleted with the list's last job: the keyboard goes on from the search
      const lost = document.activeElement === document.body || results.contains(document.activeElement);
      put(results, emptyState(state.q || state.active || state.task ? 'No job matches these filters.' : 'There are no jobs yet.',
        can('create') && !state.q ? button('Create', { kind: 'create', iconName: 'plus', onclick: () => navigate('/jobs/new') }) : null));
      if (lost && focusAfterDelete) search.focus();
      focusAfterDelete = false;
    } else {
      const focus = focusKey(tableSlot);
      if (results.firstChild !== tableSlot) put(results, tableSlot, pagerSlot);
      put(tableSlot, jobsTable(jobs, tasks, () => { focusAfterDelete = true; load(); }));
      showPager(pagerSlot, pager({ total, page: state.page, size: state.size, onChange: (p) => { Object.assign(state, p); load(); } }));
      restoreFocus(tableSlot, focus);
      focusAfterDelete = false;
    }
    schedule(jobs);
  }

  // Keep last runs and next runs current: at once when a run changes (watchRuns), and every
  // 2 s while a listed job has an active run or is about to fire (a saved interval fires at
  // once), else every 15 s.
  function schedule(jobs) {
    const soon = (j) => j.active && j.next_run && parseTime(j.next_run).getTime() - Date.now() < 60000;
    const busy = jobs.some((j) => (j.last_run && isActive(j.last_run.status)) || soon(j));
    timer = setTimeout(load, busy ? 2000 : 15000);
  }

  const onSearch = debounce(() => {
    state.q = search.value.trim();
    state.page = 1;
    load();
  }, 250);
  search.addEventListener('input', onSearch);
  for (const [sel, key] of [[activeSel, 'active'], [taskSel, 'task'], [orderSel, 'order']]) {
    sel.addEventListener('change', () => {
      state[key] = sel.value;
      state.page = 1;
      load();
    });
  }
  const unwatch = watchRuns(() => load());
  onLeave(() => {
    unwatch();
    clearTimeout(timer);
    onSearch.cancel();
    if (controller) controller.abort();
  });
  await load();
}

function nextRunCell(job) {
  if (!job.active) return h('span', { class: 'muted' }, 'Inactive');
  if (!job.schedule) return h('span', { class: 'muted' }, 'Not scheduled');
  // the time in the browser's zone, named, above the schedule in its own zone
  return h('span', { class: 'stack' }, timeEl(job.next_run, { zone: true }), h('small', { class: 'muted' }, describeSchedule(job.schedule)));
}

function lastRunCell(job) {
  const r = job.last_run;
  if (!r || !r.id) return h('span', { class: 'muted' }, 'Never run');
  return h('a', { href: `/jobs/${job.id}/runs/${r.id}`, class: 'last-run' }, statusBadge(r.status), ' ', timeEl(r.created));
}

// The table is built anew when a refresh brings changes: the control that had the focus gets it
// back in the new table (the same job's row, the same label), else its row's first link, so a
// keyboard user keeps their place.
const FOCUSABLE = 'a[href], button, input, select';

function focusKey(root) {
  const el = document.activeElement;
  if (!el || el === root || !root.contains(el)) return null;
  const tr = el.closest('tr[data-job-id]');
  return { job: tr ? tr.dataset.jobId : null, text: el.textContent, index: [...(tr || root).querySelectorAll(FOCUSABLE)].indexOf(el) };
}

function restoreFocus(root, key) {
  if (!key) return;
  const scope = key.job ? root.querySelector(`tr[data-job-id="${key.job}"]`) : root;
  const all = scope ? [...scope.querySelectorAll(FOCUSABLE)] : [];
  const el = all.find((e) => e.textContent === key.text) || all[key.index] || root.querySelector('tbody a[href]');
  if (el) el.focus({ preventScroll: true });
}

function describedBy(id, actions) {
  for (const b of actions.querySelectorAll('button')) b.setAttribute('aria-describedby', id);
  return actions;
}

/** The list's table; each row has the job's actions the signed-in role may use. */
function jobsTable(jobs, tasks, reload) {
  // each action's description is its row's job title, so "Edit" is not one of many alike
  const rowActions = (job) => describedBy(`jt-${job.id}`, h('div', { class: 'row-actions' },
    can('run') ? button('Configure and run…', { iconName: 'play', small: true, onclick: () => configureAndRun(job) }) : null,
    can('schedule') ? button('Schedule…', { iconName: 'calendar', small: true, onclick: () => scheduleDialog(job, { onSaved: reload }) }) : null,
    can('edit') ? button('Edit', { iconName: 'edit', small: true, onclick: () => navigate(`/jobs/${job.id}/edit`) }) : null,
    can('delete') ? button('Delete', { iconName: 'trash', small: true, kind: 'danger-ghost', onclick: () => deleteJob(job, { onDeleted: reload }) }) : null));
  const anyActions = can('run') || can('schedule') || can('edit') || can('delete');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive jobs-table' },
    h('thead', {}, h('tr', {},
      ['Job', 'Task and queue', 'Active', 'Last run', 'Started by', 'Next run'].map((c) => h('th', { scope: 'col' }, c)),
      anyActions ? h('th', { scope: 'col' }, 'Actions') : null)),
    h('tbody', {}, jobs.map((job) => {
      const task = tasks.get(job.task);
      const lr = job.last_run && job.last_run.id ? job.last_run : null;
      return h('tr', { dataset: { jobId: job.id } },
        h('td', { 'data-label': 'Job', class: 'job-cell' }, h('div', {},
          h('a', { href: `/jobs/${job.id}`, class: 'job-title', id: `jt-${job.id}` }, job.title),
          job.description ? h('div', { class: 'desc-preview', title: job.description }, job.description) : null)),
        h('td', { 'data-label': 'Task and queue' }, h('span', { class: 'stack' },
          h('span', { title: task ? task.description : job.task }, task ? task.title : job.task),
          h('small', { class: 'muted' }, `queue ${job.default_queue}`))),
        h('td', { 'data-label': 'Active' }, job.active
          ? h('span', { class: 'yes' }, icon('check'), ' Active') : h('span', { class: 'muted' }, icon('ban'), ' Inactive')),
        h('td', { 'data-label': 'Last run' }, lastRunCell(job)),
        h('td', { 'data-label': 'Started by' }, lr ? personName(lr.started_by) : h('span', { class: 'muted' }, '—')),
        h('td', { 'data-label': 'Next run' }, nextRunCell(job)),
        anyActions ? h('td', { 'data-label': 'Actions' }, rowActions(job)) : null);
    }))));
}
