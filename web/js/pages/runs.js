// Runs across all jobs (GET /api/runs), filtered by status, job and time, newest first.

import { api, pageServed } from '../api.js';
import { h, isActive, put } from '../dom.js';
import { pager, pageHeader, emptyState, errorBox, loading, select, field, showPager, putKeepingFocus } from '../components.js';
import { onLeave, setQuery, isCurrent } from '../router.js';
import { createRunsTable, RUN_STATUS_FILTERS, watchRuns } from '../runs.js';
import { jobPicker, sinceInput } from './filters.js';

// the filters' API names as the page labels them, for the server's refusals of a link
const FILTER_NAMES = { job_id: 'Job', status: 'Status', since: 'Since', page: 'Page', size: 'Results per page' };

export async function runsPage(el, { query, token }) {
  const state = {
    status: query.get('status') || '',
    job_id: query.get('job_id') || '',
    since: query.get('since') || '',
    page: Math.max(1, Number(query.get('page')) || 1),
    size: Number(query.get('size')) || 25,
  };
  const statusSel = select(RUN_STATUS_FILTERS, { value: state.status });
  if (statusSel.value !== state.status) statusSel.append(h('option', { value: state.status, selected: true }, state.status));
  const job = await jobPicker(state.job_id, () => { state.job_id = job.value(); state.page = 1; load(); });
  const since = sinceInput(state.since, () => { state.since = since.value(); state.page = 1; load(); });
  const table = createRunsTable({ showJob: true, onChange: () => load() });
  const results = h('div', {}, loading());

  el.append(pageHeader('Runs'),
    h('div', { class: 'filters' },
      field({ label: 'Status', control: statusSel }),
      job.el,
      since.el),
    results);
  statusSel.addEventListener('change', () => { state.status = statusSel.value; state.page = 1; load(); });

  let timer = null;
  let controller = null;
  const remember = () => setQuery({ ...state, page: state.page > 1 ? state.page : '', size: state.size !== 25 ? state.size : '' });
  async function load() {
    clearTimeout(timer);
    if (controller) controller.abort();
    controller = new AbortController();
    remember();
    let data;
    try {
      data = await api.get('/runs', { status: state.status, job_id: state.job_id, since: state.since, page: state.page, size: state.size }, { signal: controller.signal });
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401 || !isCurrent(token)) return;
      put(results, errorBox(err, { what: 'Could not load the runs', names: FILTER_NAMES }));
      // a server out of reach (or a proxy's 5xx) comes back: asked again until it does
      if (err.status === 0 || err.status >= 500) timer = setTimeout(load, 5000);
      return;
    }
    if (!isCurrent(token)) return;
    if (pageServed(data, state)) remember();
    const runs = data.hits.hits;
    // A page past the end (after deletions, or a link to a page that no longer exists):
    // show the last one rather than an empty list that says nothing matches.
    // (a lower page only: a count the rows disagree with cannot make it loop)
    if (!runs.length && state.page > Math.ceil(data.hits.total / state.size) && data.hits.total > 0) {
      state.page = Math.ceil(data.hits.total / state.size);
      return load();
    }
    if (!runs.length) {
      // the focus in the list (its last run deleted) goes on from the heading
      putKeepingFocus(results, null, emptyState('No run matches these filters.'));
    } else {
      if (results.firstChild !== table.el) put(results, table.el, h('div', { class: 'pager-slot' }));
      table.update(runs);
      showPager(results.lastChild, pager({
        total: data.hits.total, page: state.page, size: state.size, noun: 'runs',
        onChange: (p) => { Object.assign(state, p); load(); },
      }));
    }
    timer = setTimeout(load, runs.some((r) => isActive(r.status)) ? 2000 : 10000);
  }
  const unwatch = watchRuns(() => load());
  onLeave(() => {
    unwatch();
    clearTimeout(timer);
    if (controller) controller.abort();
  });
  await load();
}
