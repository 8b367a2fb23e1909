// Filter controls shared by the runs and audit pages.

import { api } from '../api.js';
import { h, debounce, nextId, parseTime, put } from '../dom.js';
import { field, input } from '../components.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A "Job" filter: type part of a title and pick from the suggestions (the API's search, 10
 * at a time: the jobs are never all loaded), or paste a job id. onChange() when it settles.
 */
export async function jobPicker(jobId, onChange) {
  const listId = nextId('jobs');
  const box = input({ list: listId, placeholder: 'Any job', type: 'search' });
  const list = h('datalist', { id: listId });
  const byLabel = new Map();
  let current = jobId || '';
  if (current) {
    try {
      const j = await api.get(`/jobs/${current}`);
      box.value = j.title;
      byLabel.set(j.title, j.id);
    } catch {
      box.value = current;
    }
  }
  const suggest = debounce(async () => {
    const q = box.value.trim();
    try {
      const r = await api.get('/jobs', { q, size: 10 });
      const seen = new Map();
      for (const j of r.hits.hits) seen.set(j.title, (seen.get(j.title) || 0) + 1);
      byLabel.clear();
      put(list, ...r.hits.hits.map((j) => {
        // equal titles are told apart by the start of the id
        const label = seen.get(j.title) > 1 ? `${j.title} (${j.id.slice(0, 8)})` : j.title;
        byLabel.set(label, j.id);
        return h('option', { value: label });
      }));
    } catch { /* suggestions are a convenience */ }
    settle();
  }, 200);
  // text that names no job, once the field is left (or Enter pressed): said, so that the list
  // is not taken for that job's
  function unmatched(v, left) {
    const err = document.getElementById(`${box.id}-err`);
    if (!err) return;
    err.textContent = left ? `No job is titled “${v}”: pick one of the suggestions, or paste a job id. `
      + (current ? 'The list is still of the job picked before.' : 'The list is of every job.') : '';
    if (left) box.setAttribute('aria-invalid', 'true');
    else box.removeAttribute('aria-invalid');
  }
  function settle(e) {
    const v = box.value.trim();
    const id = !v ? '' : UUID.test(v) ? v.toLowerCase() : byLabel.get(v) || null;
    if (id === null) { // still typing (nothing picked yet), unless the field was left
      if (e && e.type === 'change') unmatched(v, true);
      return;
    }
    unmatched(v, false);
    if (id !== current) {
      current = id;
      onChange();
    }
  }
  box.addEventListener('input', suggest);
  box.addEventListener('change', settle);
  return {
    el: field({ label: 'Job', control: box, extra: list, hint: 'Type part of a title and pick it, or paste a job id.' }),
    value: () => current,
  };
}

/** A "Since" filter in the browser's local time, sent to the API as a UTC instant. */
export function sinceInput(iso, onChange) {
  const el = input({ type: 'datetime-local' });
  const d = parseTime(iso);
  if (d) {
    const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
    el.value = local.toISOString().slice(0, 16);
  }
  el.addEventListener('change', onChange);
  return {
    el: field({ label: 'Since', control: el, hint: 'Your local time.' }),
    value: () => (el.value ? new Date(el.value).toISOString() : ''),
  };
}

/**
 * A "User" filter of the audit trail, whose API takes a username only (exact, in any case):
 * type part of a display name or a username and pick from the accounts that hold it (`users`,
 * every account), or press Enter when only one does. A name that is no account's is taken as
 * written: a deleted account's, the bootstrap token's, an operating-system user's.
 * onChange() when it settles on another username.
 */
export function userPicker(username, users, onChange) {
  const listId = nextId('users');
  const box = input({ list: listId, placeholder: 'Any user', type: 'search' });
  const list = h('datalist', { id: listId });
  const people = [...users, { username: 'bootstrap', display_name: 'bootstrap token' }];
  const label = (u) => `${u.display_name || u.username} (${u.username})`;
  const byLabel = new Map(people.map((u) => [label(u), u.username]));
  const byName = (name) => people.find((u) => u.username.toLowerCase() === name.toLowerCase());
  let current = username || '';
  if (current) box.value = byName(current) ? label(byName(current)) : current;
  const holding = (text) => {
    const t = text.toLowerCase();
    return people.filter((u) => u.username.toLowerCase().includes(t) || (u.display_name || '').toLowerCase().includes(t));
  };
  function say(text) {
    const err = document.getElementById(`${box.id}-err`);
    if (!err) return;
    err.textContent = text;
    if (text) box.setAttribute('aria-invalid', 'true');
    else box.removeAttribute('aria-invalid');
  }
  function pick(name) {
    say('');
    if (name !== current) {
      current = name;
      onChange();
    }
  }
  // while typing: the accounts offered; a suggestion picked (or a username typed whole) settles
  const typed = debounce(() => {
    const v = box.value.trim();
    if (!v) pick('');
    else if (byLabel.has(v)) pick(byLabel.get(v));
    else if (byName(v)) pick(byName(v).username);
  }, 300);
  const offer = () => {
    const v = box.value.trim();
    put(list, ...(v && !byLabel.has(v) ? holding(v) : people).map((u) => h('option', { value: label(u) })));
  };
  offer();
  box.addEventListener('input', () => {
    offer();
    typed();
  });
  // Enter or leaving the field: part of one account's name is that account
  box.addEventListener('change', () => {
    typed.cancel();
    const v = box.value.trim();
    if (!v || byLabel.has(v) || byName(v)) {
      pick(!v ? '' : byLabel.get(v) || byName(v).username);
      return;
    }
    const found = holding(v);
    if (found.length === 1) {
      box.value = label(found[0]);
      pick(found[0].username);
    } else if (found.length > 1) {
      say(`${found.length} accounts match “${v}”: pick one of the suggestions. `
        + (current ? 'The list is still of the user picked before.' : 'The list is of every user.'));
    } else {
      pick(v);
    }
  });
  return {
    el: field({
      label: 'User', control: box, extra: list,
      hint: 'Type part of a name and pick the account; a name that is no account’s (a deleted one’s, an operating-system user’s) is searched as written.',
    }),
    value: () => current,
    stop: () => typed.cancel(),
  };
}
