// A job: its settings, every action on it, and its runs, refreshed live (every 2 s while a
// run is active, every 10 s otherwise, so scheduled fires show up too).

import { api, listItems, pageServed } from '../api.js';
import { h, icon, timeEl, describeSchedule, isActive, put, shortId, formatDuration } from '../dom.js';
import {
  button, pager, pageHeader, emptyState, errorBox, errorText, select, toast, jsonBlock, showPager, putKeepingFocus,
} from '../components.js';
import { navigate, onLeave, isCurrent, setQuery } from '../router.js';
import { can } from '../session.js';
import {
  configureAndRun, backfill, stopJobRuns, scheduleDialog, deleteJob, confirmActivation, intervalFiresNow,
} from '../dialogs.js';
import { createRunsTable, RUN_STATUS_FILTERS, watchRuns } from '../runs.js';
import { getTasks } from '../catalog.js';

const OVERLAP_TEXT = { allow: 'Allow', skip: 'Skip', queue_one: 'Queue one', cancel_previous: 'Cancel previous' };
const CATCHUP_TEXT = { once: 'Once', skip: 'Skip', all: 'All' };

/** [name, value] pairs, or [name, value, true] for one the whole width of its card. */
function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v, wide]) => h('div', {
    class: 'fact', style: wide ? 'grid-column: 1 / -1' : null,
  }, h('dt', {}, k), h('dd', {}, v))));
}

export async function jobPage(el, { params, query, token }) {
  const id = params.id;
  // the id as a segment of the API's paths: what the address held, decoded, may be anything
  const idPath = encodeURIComponent(id);
  let job;
  try {
    job = await api.get(`/jobs/${idPath}`);
  } catch (err) {
    if (err.status !== 404 || !isCurrent(token)) throw err;
    put(el, pageHeader('Job not found'),
      h('p', {}, `No job has the id ${id}; it may have been deleted. `, h('a', { href: '/jobs' }, 'Back to the jobs.')));
    return;
  }
  if (!isCurrent(token)) return;
  const tasks = await getTasks().catch(() => null); /* null: not read, which says nothing of the job's */
  const task = tasks && tasks.find((t) => t.id === job.task);
  // its task file removed: the job stays, but nothing of its arguments can be checked
  const notInstalled = !!tasks && !task;
  const tTitle = task ? task.title : job.task;

  const head = h('div');
  const info = h('div');
  // the titles of the jobs its success starts (it has their ids only), read once per visit
  const chainJobs = new Map();
  function chainList(ids) {
    const ul = h('ul', { style: 'display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; list-style: none; margin: 0; padding: 0' });
    const fill = () => put(ul, ids.map((cid) => {
      const j = chainJobs.get(cid);
      if (!j || j.then) return h('li', { class: 'muted' }, `job ${shortId(cid)}…`);
      if (j.gone) return h('li', { class: 'muted' }, `job ${shortId(cid)} (deleted)`);
      return h('li', {}, h('a', { href: `/jobs/${cid}` }, j.title),
        j.active ? null : h('small', { class: 'muted' }, ' (inactive: passed over)'));
    }));
    const missing = ids.filter((cid) => !chainJobs.has(cid));
    for (const cid of missing) {
      chainJobs.set(cid, api.get(`/jobs/${cid}`).then((j) => ({ title: j.title, active: j.active }),
        (err) => (err.status === 404 ? { gone: true } : null)).then((v) => {
        if (v) chainJobs.set(cid, v);
        else chainJobs.delete(cid); /* read again at the next refresh */
      }));
    }
    fill();
    const waits = ids.map((cid) => chainJobs.get(cid)).filter((v) => v && v.then);
    if (waits.length) Promise.all(waits).then(() => { if (isCurrent(token)) fill(); });
    return ul;
  }
  // the jobs whose success starts this one (read once per visit; drawn when it comes)
  let upstream = [];
  listItems('/jobs', { starts: id, sort: 'title' }, { limit: 100 }).then((jobs) => {
    upstream = jobs;
    if (upstream.length && isCurrent(token)) renderJob();
  }).catch(() => { /* the rest of the page says enough */ });
  const upstreamList = () => h('ul', { style: 'display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; list-style: none; margin: 0; padding: 0' },
    upstream.map((j) => h('li', {}, h('a', { href: `/jobs/${j.id}` }, j.title),
      j.active ? null : h('small', { class: 'muted' }, ' (inactive)'))));
  // its newest finished runs in figures (GET …/stats), read with the job; null: not read yet
  let stats = null;
  // the runs' filter and page live in the address, so Back from a run and a reload keep them
  const runsState = {
    page: Math.max(1, Number(query.get('page')) || 1),
    size: Number(query.get('size')) || 25,
    status: query.get('status') || '',
  };
  const runsTable = createRunsTable({ onChange: () => refresh() });
  const runsArea = h('div');
  const pagerArea = h('div');
  const runsHeading = h('h2', { id: 'runs-h' }, 'Runs');
  const statusSel = select(RUN_STATUS_FILTERS, { 'aria-label': 'Status filter', value: runsState.status });
  if (statusSel.value !== runsState.status) statusSel.append(h('option', { value: runsState.status, selected: true }, runsState.status));
  statusSel.addEventListener('change', () => {
    runsState.status = statusSel.value;
    runsState.page = 1;
    refresh();
  });

  let refOpen = false; /* the reference configuration unfolded, kept across refreshes */
  // The header's buttons are made anew with the job (Deactivate becomes Activate): the one that
  // had the focus, or opened the dialog that just closed, gives it to its successor (the same
  // data-action; openDialog does the same for a dialog closed after a redraw).
  const action = (name, btn) => {
    if (btn) btn.dataset.action = name;
    return btn;
  };
  /** A note when a run started now would be refused: nothing else says so before one is tried. */
  function cannotRun() {
    if (job.default_args !== 'null') return null;
    const why = notInstalled
      ? `its task ${job.task} is not installed on this server (its task file is missing), so it cannot run until it is back.`
      : 'its saved arguments do not satisfy the job type (a required argument is missing, or one no longer fits). Give them when you run it, or edit the job to save them.';
    return h('div', { class: 'notice notice-warn', role: 'note' }, icon('alert'),
      h('span', {}, h('strong', {}, 'A run started now would be refused: '), why));
  }

  function renderJob() {
    document.title = `${job.title} · sked`;
    const focused = head.contains(document.activeElement) ? document.activeElement.closest('[data-action]') : null;
    const reload = (j) => {
      if (j) {
        job = { ...job, ...j };
        renderJob();
      }
      refresh();
    };
    put(head, 
      h('div', { class: 'back-row' }, action('back', h('a', { href: '/jobs', class: 'btn btn-ghost btn-small' }, icon('back'), h('span', {}, 'Jobs')))),
      pageHeader(job.title, [
        can('run') ? action('run', button('Configure and run…', { iconName: 'play', onclick: () => configureAndRun(job) })) : null,
        // a backfill gives each run a since of its own: admins only, where the job type keeps
        // its runs to the saved arguments
        can('run') && (can('edit') || !task || task.operator_args !== false)
          ? action('backfill', button('Backfill…', { iconName: 'clock', onclick: () => backfill(job) })) : null,
        can('run') ? action('stopruns', button('Stop runs…', { iconName: 'stop', onclick: () => stopJobRuns(job, { onStopped: refresh }) })) : null,
        can('schedule') ? action('schedule', button('Schedule…', { iconName: 'calendar', onclick: () => scheduleDialog(job, { onSaved: reload }) })) : null,
        can('activate') ? action('active', button(job.active ? 'Deactivate' : 'Activate', { iconName: 'power', onclick: toggleActive })) : null,
        can('edit') ? action('edit', button('Edit', { iconName: 'edit', onclick: () => navigate(`/jobs/${job.id}/edit`) })) : null,
        can('delete') ? action('delete', button('Delete', { iconName: 'trash', kind: 'danger-ghost', onclick: () => deleteJob(job, { onDeleted: () => navigate('/jobs') }) })) : null,
      ], { label: 'Job actions' }),
      job.description ? h('p', { class: 'lead' }, job.description) : null,
      cannotRun());
    if (focused) {
      const again = head.querySelector(`[data-action="${focused.dataset.action}"]`);
      if (again) again.focus({ preventScroll: true });
    }
    const saved = { ...(job.run_args || {}) };
    delete saved.custom_args;
    let defaults = null;
    try { defaults = JSON.parse(job.default_args); } catch { /* shown as text below */ }
    put(info, h('div', { class: 'cards' },
      h('section', { class: 'card', 'aria-labelledby': 'sched-h' }, h('h2', { id: 'sched-h' }, 'Schedule'),
        facts([
          ['Active', job.active ? h('span', { class: 'yes' }, icon('check'), ' Active') : h('span', { class: 'warn-text' }, icon('ban'), ' Inactive: the schedule does not fire')],
          ['Schedule', describeSchedule(job.schedule)],
          ['Next run', !job.active ? h('span', { class: 'muted' }, 'Inactive') : job.schedule ? timeEl(job.next_run, { full: true }) : h('span', { class: 'muted' }, 'Not scheduled')],
          ['Overlap', OVERLAP_TEXT[job.overlap] || job.overlap],
          ['Catch-up', `${CATCHUP_TEXT[job.catchup] || job.catchup}${job.catchup === 'all' ? ` (at most ${job.catchup_limit})` : ''}`],
          ['Skipped fires', String(job.skipped_fires ?? 0)],
          'max_retries' in job ? ['Retries', job.max_retries ? `${job.max_retries}, first after ${job.retry_backoff}` : 'none'] : null,
          'retention' in job ? ['Retention', job.retention || 'the server\'s'] : null,
          ['Notifications', describeNotifications(job)],
          job.alert_after ? ['Alert', job.overdue_since
            ? h('span', { class: 'warn-text' }, icon('alert'), ` Overdue: no success for over ${job.alert_after}, told `, timeEl(job.overdue_since))
            : `after ${job.alert_after} without a success`] : null,
          stats && stats.runs ? ['Recent runs', describeStats(stats), true] : null,
          (job.on_success || []).length ? ['On success, starts', chainList(job.on_success), true] : null,
          upstream.length ? ['Started when these succeed', upstreamList(), true] : null,
        ])),
      h('section', { class: 'card', 'aria-labelledby': 'set-h' }, h('h2', { id: 'set-h' }, 'Settings'),
        facts([
          ['Task', notInstalled ? h('span', { class: 'warn-text' }, icon('alert'), ` ${job.task}: not installed on this server (its task file is missing)`)
            : h('span', { title: job.task }, `${tTitle} (${job.task})`)],
          ['Queue', job.default_queue],
          ['Run timeout', job.timeout || (task && task.timeout ? `${task.timeout} (the job type's)` : 'none')],
          ['Created', timeEl(job.created, { full: true })],
          ['Updated', timeEl(job.updated, { full: true })],
          ['Saved arguments', Object.keys(saved).length ? jsonBlock(saved, 'Saved arguments') : h('span', { class: 'muted' }, 'none (defaults)')],
          job.custom_args ? ['Custom args', jsonBlock(job.custom_args, 'Custom args')] : null,
          // folded: mostly the saved arguments again, and the runs below matter more
          ['Reference configuration', defaults ? h('details', {
            open: refOpen, ontoggle: (e) => { refOpen = e.target.open; },
          }, h('summary', {}, 'The arguments a run started now gets'), jsonBlock(defaults, 'Reference configuration'))
            : h('span', { class: 'warn-text' }, notInstalled
              ? `None: the task ${job.task} is not installed, so the saved arguments cannot be checked.`
              : 'The saved arguments do not validate against the job type.')],
        ]),
        can('audit') ? h('p', {}, h('a', { href: `/audit?job_id=${job.id}` }, 'Audit trail of this job')) : null)));
  }

  async function toggleActive() {
    const firesNow = intervalFiresNow(job);
    const what = job.active ? 'Could not deactivate the job' : 'Could not activate the job';
    if (!await confirmActivation(job)) return;
    try {
      job = await api.patch(`/jobs/${job.id}`, { active: !job.active });
      toast(!job.active ? 'Job deactivated: its schedule does not fire.'
        : firesNow ? 'Job activated: its interval fired at once, so a run starts now.' : 'Job activated.');
      renderJob();
    } catch (err) {
      if (err.status !== 401) toast(errorText(err, what), 'error');
    }
  }

  let timer = null;
  let controller = null;
  let tick = 0;
  let busy = false;
  const remember = () => setQuery({
    status: runsState.status, page: runsState.page > 1 ? runsState.page : '', size: runsState.size !== 25 ? runsState.size : '',
  });
  async function refresh({ withJob = true, withStats = false } = {}) {
    clearTimeout(timer);
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    if (isCurrent(token)) remember();
    try {
      // The job itself (next run) changes less often: every fifth poll while runs are active.
      const jobToo = withJob && (!busy || tick % 5 === 0);
      const [runs, fresh, freshStats] = await Promise.all([
        api.get(`/jobs/${idPath}/runs`, { page: runsState.page, size: runsState.size, status: runsState.status }, { signal }),
        jobToo ? api.get(`/jobs/${idPath}`, {}, { signal }) : null,
        // the figures of its runs with it; without them (a failure) the page shows the rest
        jobToo || withStats ? api.get(`/jobs/${idPath}/stats`, {}, { signal }).catch((err) => {
          if (err.name === 'AbortError') throw err;
          return null;
        }) : null,
      ]);
      if (!isCurrent(token)) return;
      if (pageServed(runs, runsState)) remember();
      tick += 1;
      const statsChanged = freshStats && JSON.stringify(freshStats) !== JSON.stringify(stats);
      if (statsChanged) stats = freshStats;
      if (fresh && JSON.stringify(fresh) !== JSON.stringify(job)) {
        job = fresh;
        renderJob();
      } else if (statsChanged) renderJob();
      const list = runs.hits.hits;
      // A page past the end (its last run deleted): the last page there is, not "not run yet".
      // (a lower page only: a count the rows disagree with cannot make it loop)
      if (!list.length && runsState.page > Math.ceil(runs.hits.total / runsState.size) && runs.hits.total > 0) {
        runsState.page = Math.ceil(runs.hits.total / runsState.size);
        return refresh({ withJob: false });
      }
      if (!list.length) {
        // the focus in the list (its last run deleted) goes on from its heading
        putKeepingFocus(runsArea, runsHeading, emptyState(runsState.status ? 'No run of this job has this status.' : 'This job has not run yet.'));
      } else {
        if (runsArea.firstChild !== runsTable.el) put(runsArea, runsTable.el);
        runsTable.update(list);
      }
      showPager(pagerArea, runs.hits.total > runsState.size || runsState.page > 1
        ? pager({ total: runs.hits.total, page: runsState.page, size: runsState.size, noun: 'runs', onChange: (p) => { Object.assign(runsState, p); refresh(); } })
        : h('p', { class: 'muted' }, `${runs.hits.total} run${runs.hits.total === 1 ? '' : 's'}`), runsHeading);
      busy = list.some((r) => isActive(r.status));
      timer = setTimeout(refresh, busy ? 2000 : 10000);
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401 || !isCurrent(token)) return;
      if (err.status === 404) {
        put(el, pageHeader('Job not found'), h('p', {}, 'This job was deleted. ', h('a', { href: '/jobs' }, 'Back to the jobs.')));
        return;
      }
      put(runsArea, errorBox(err, { what: 'Could not load the runs of this job' }));
      timer = setTimeout(refresh, 10000);
    }
  }
  const unwatch = watchRuns(() => refresh(), id);
  onLeave(() => {
    unwatch();
    clearTimeout(timer);
    if (controller) controller.abort();
  });

  renderJob();
  el.append(head, info,
    h('section', { class: 'runs-section', 'aria-labelledby': 'runs-h' },
      h('div', { class: 'section-head' }, runsHeading, statusSel),
      runsArea, pagerArea));
  await refresh({ withJob: false, withStats: true });
}

/**
 * "67% succeeded of the last 3 (SUCCESS 2, FAILED 1) · typically 4 min 3 s, p95 5 min 18 s,
 * at most 6 min 42 s": the job's newest finished runs (the server's rate leaves cancelled ones
 * aside); "The last run: FAILED · took 3 s" for a job that has run once.
 */
function describeStats(st) {
  const d = st.duration_seconds;
  if (st.runs === 1) { // one run: its status and how long it took, no share or spread
    const status = Object.keys(st.statuses || {})[0] || '';
    return h('span', {}, `The last run: ${status.replace(/_/g, ' ')}${d ? ` · took ${formatDuration(d.max)}` : ''}`);
  }
  const counts = Object.entries(st.statuses || {}).map(([s, n]) => `${s.replace(/_/g, ' ')} ${n.toLocaleString()}`);
  const last = `the last ${st.runs.toLocaleString()}`;
  // rounded, but not to 100% (or 0%) unless every one did (or none)
  const pct = (r) => (r > 0 && r < 1 ? Math.min(99, Math.max(1, Math.round(r * 100))) : Math.round(r * 100));
  const rate = typeof st.success_rate === 'number'
    ? `${pct(st.success_rate)}% succeeded of ${last}${st.statuses && st.statuses.CANCELLED ? ', cancelled ones aside' : ''}`
    : `${last.charAt(0).toUpperCase()}${last.slice(1)}`;
  const took = !d ? ''
    : d.runs === 1 ? ` · the one that started took ${formatDuration(d.max)}`
      : ` · typically ${formatDuration(d.p50)}, p95 ${formatDuration(d.p95)}, at most ${formatDuration(d.max)}`;
  return h('span', {}, `${rate} (${counts.join(', ')})${took}`);
}

/** "On FAILED, CANCELLED: e-mail a@b; webhook https://…", or "none". */
function describeNotifications(job) {
  const to = [...(job.notification_emails || []).map((e) => `e-mail ${e}`),
    ...(job.notification_webhooks || []).map((u) => `webhook ${u}`)];
  const on = job.notification_statuses || [];
  if (!on.length || !to.length) return h('span', { class: 'muted' }, 'none');
  return h('span', { style: 'overflow-wrap: anywhere' }, `On ${on.join(', ')}: ${to.join('; ')}`);
}
