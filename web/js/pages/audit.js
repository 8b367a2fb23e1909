// The audit trail (GET /api/audit, admins only): who changed what, newest first.

import { api, pageServed } from '../api.js';
import { h, timeEl, put, shortId } from '../dom.js';
import {
  pager, pageHeader, emptyState, errorBox, loading, select, field, jsonBlock, showPager, putKeepingFocus,
} from '../components.js';
import { onLeave, setQuery, isCurrent } from '../router.js';
import { can } from '../session.js';
import { jobPicker, sinceInput, userPicker } from './filters.js';

const ACTIONS = [
  ['', 'Any action'],
  ['job.', 'Jobs: every action'], ['job.created', 'job.created'], ['job.updated', 'job.updated'],
  ['job.scheduled', 'job.scheduled'], ['job.activated', 'job.activated'], ['job.deactivated', 'job.deactivated'],
  ['job.deleted', 'job.deleted'],
  ['run.', 'Runs: every action'], ['run.started', 'run.started'], ['run.stopped', 'run.stopped'], ['run.deleted', 'run.deleted'],
  ['user.', 'Accounts: every action'], ['user.created', 'user.created'], ['user.updated', 'user.updated'],
  ['user.password_changed', 'user.password_changed'], ['user.deleted', 'user.deleted'],
  ['token.', 'Tokens: every action'], ['token.created', 'token.created'], ['token.revoked', 'token.revoked'],
  ['login.', 'Sign-ins: every result'], ['login.succeeded', 'login.succeeded'], ['login.failed', 'login.failed'], ['logout', 'logout'],
  ['queue.', 'Queues: every action'], ['queue.paused', 'queue.paused'], ['queue.resumed', 'queue.resumed'],
  ['queue.reason_changed', 'queue.reason_changed'],
];

/**
 * Who did it, by display name as the rest of the UI names people (the entry has the username;
 * `users` maps account ids to accounts), the username in the tooltip.
 */
function actorCell(a, users) {
  if (!a) return '—';
  if (a.kind === 'anonymous') return 'anonymous';
  if (a.kind === 'token' && a.id === 'bootstrap') return 'bootstrap token';
  const via = a.kind === 'token' ? ' (API token)' : a.kind === 'cli' ? ' (command line)' : '';
  const u = a.kind === 'cli' ? null : users.get(a.id);
  const name = (u && u.display_name) || a.name;
  return h('span', { title: a.kind === 'cli' ? 'An operating-system user on the server' : `Username ${a.name}` }, `${name}${via}`);
}

/**
 * What an account, token or queue entry is about, by name (the entry has the id, its details
 * mostly the name), the id in the tooltip. Jobs and runs have columns of their own.
 */
function targetCell(e, users) {
  const d = e.details && typeof e.details === 'object' ? e.details : {};
  const none = h('span', { class: 'muted' }, '—');
  if (e.action.startsWith('queue.')) return d.queue ? h('a', { href: '/queues' }, `queue ${d.queue}`) : none;
  if (!e.target) return none;
  if (e.action.startsWith('token.')) {
    const what = d.name ? `token “${d.name}”${d.username ? ` of ${d.username}` : ''}` : `token ${shortId(e.target)}`;
    return h('span', { title: `Token ${e.target}` }, what);
  }
  const u = users.get(e.target);
  const username = d.username && !e.action.startsWith('login.') ? d.username : u ? u.username : null;
  return h('span', { title: `Account ${e.target}` }, username || `account ${shortId(e.target)}`);
}

/** One line for an entry's details, with the whole JSON one click away. */
function detailsCell(d) {
  if (d === null || d === undefined) return h('span', { class: 'muted' }, '—');
  let short;
  if (d.changes && typeof d.changes === 'object') {
    short = Object.entries(d.changes).map(([k, v]) => (v && typeof v === 'object' && 'before' in v
      ? `${k}: ${JSON.stringify(v.before)} → ${JSON.stringify(v.after)}` : `${k}: ${JSON.stringify(v)}`)).join('; ') || 'no change';
    // the account or queue changed, by name
    const whose = d.username || d.queue;
    if (whose) short = `${whose}: ${short}`;
  } else if (typeof d === 'object' && 'before' in d && 'after' in d) {
    short = `${JSON.stringify(d.before)} → ${JSON.stringify(d.after)}`;
  } else {
    short = JSON.stringify(d);
  }
  if (short.length > 120) short = `${short.slice(0, 117)}…`;
  return h('details', { class: 'audit-details' }, h('summary', {}, short), jsonBlock(d, 'Details'));
}

export async function auditPage(el, { query, token }) {
  el.append(pageHeader('Audit trail'));
  if (!can('audit')) {
    el.append(h('p', {}, 'Only admins may read the audit trail.'));
    return;
  }
  const state = {
    job_id: query.get('job_id') || '',
    user: query.get('user') || '',
    action: query.get('action') || '',
    since: query.get('since') || '',
    page: Math.max(1, Number(query.get('page')) || 1),
    size: Number(query.get('size')) || 25,
  };
  // the accounts, for display names (the entries name people by username)
  const users = new Map(await api.get('/users').then((r) => r.hits.hits.map((u) => [u.id, u])).catch(() => []));
  if (!isCurrent(token)) return;
  const job = await jobPicker(state.job_id, () => { state.job_id = job.value(); state.page = 1; load(); });
  const user = userPicker(state.user, [...users.values()], () => { state.user = user.value(); state.page = 1; load(); });
  const action = select(ACTIONS, { value: state.action });
  if (action.value !== state.action) action.append(h('option', { value: state.action, selected: true }, state.action));
  const since = sinceInput(state.since, () => { state.since = since.value(); state.page = 1; load(); });
  const results = h('div', {}, loading());
  // the table and the pager apart, so that the pager's control that has the focus keeps it
  const list = h('div');
  const pagerSlot = h('div', { class: 'pager-slot' });
  el.append(h('div', { class: 'filters' },
    job.el,
    user.el,
    field({ label: 'Action', control: action }),
    since.el), results);
  action.addEventListener('change', () => { state.action = action.value; state.page = 1; load(); });

  let controller = null;
  const remember = () => setQuery({ ...state, page: state.page > 1 ? state.page : '', size: state.size !== 25 ? state.size : '' });
  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    remember();
    let data;
    try {
      data = await api.get('/audit', { ...state }, { signal: controller.signal });
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401 || !isCurrent(token)) return;
      put(results, errorBox(err, {
        what: 'Could not load the audit trail',
        names: { job_id: 'Job', user: 'User', action: 'Action', since: 'Since', page: 'Page', size: 'Results per page' },
      }));
      return;
    }
    if (pageServed(data, state)) remember();
    const entries = data.hits.hits;
    // A page past the end (a link to a page that no longer exists): show the last one.
    // (a lower page only: a count the rows disagree with cannot make it loop)
    if (!entries.length && state.page > Math.ceil(data.hits.total / state.size) && data.hits.total > 0) {
      state.page = Math.ceil(data.hits.total / state.size);
      return load();
    }
    if (!entries.length) {
      putKeepingFocus(results, null, emptyState('No entry matches these filters.'));
      return;
    }
    if (results.firstChild !== list) put(results, list, pagerSlot);
    put(list, h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive audit-table' },
      h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Job', 'Run', 'Target', 'Details', 'Address'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, entries.map((e) => h('tr', {},
        h('td', { 'data-label': 'When', class: 'nowrap' }, timeEl(e.ts)),
        h('td', { 'data-label': 'Who' }, actorCell(e.actor, users)),
        h('td', { 'data-label': 'Action', class: 'nowrap' }, h('code', {}, e.action)),
        h('td', { 'data-label': 'Job' }, e.job_id
          ? (e.job_title !== null ? h('a', { href: `/jobs/${e.job_id}` }, e.job_title) : h('span', { class: 'muted', title: e.job_id }, 'deleted job'))
          : h('span', { class: 'muted' }, '—')),
        h('td', { 'data-label': 'Run' }, e.run_id && e.job_id && e.job_title !== null
          ? h('a', { href: `/jobs/${e.job_id}/runs/${e.run_id}` }, shortId(e.run_id))
          : e.run_id ? h('span', { class: 'muted' }, shortId(e.run_id)) : h('span', { class: 'muted' }, '—')),
        h('td', { 'data-label': 'Target' }, targetCell(e, users)),
        h('td', { 'data-label': 'Details', class: 'details-cell' }, detailsCell(e.details)),
        h('td', { 'data-label': 'Address' }, e.address || '—')))))));
    showPager(pagerSlot, pager({ total: data.hits.total, page: state.page, size: state.size, noun: 'entries', onChange: (p) => { Object.assign(state, p); load(); } }));
  }
  onLeave(() => {
    user.stop();
    if (controller) controller.abort();
  });
  await load();
}
