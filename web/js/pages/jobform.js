// Create and edit a job. The arguments part is generated from the chosen job type's schema;
// what the form cannot express goes in "Custom args" (JSON, checked while typing). "Chain"
// picks the jobs a success starts (on_success) from a search of the jobs by title.

import { api } from '../api.js';
import { h, icon, put, debounce, nextId, shortId } from '../dom.js';
import {
  button, field, fieldGroup, input, select, errorSummary, applyErrors, errorBox, pageHeader, toast, describedAlsoBy, confirmDialog,
} from '../components.js';
import { argsForm, jsonEditor, customArgsExample } from '../argsform.js';
import { getTasks, getQueues, getTaskArgs, queueLabel } from '../catalog.js';
import { pausedQueueNote, confirmActivation, intervalFiresNow } from '../dialogs.js';
import { navigate, isCurrent, onLeave, holdOnLeave, cameFromApp } from '../router.js';
import { can } from '../session.js';

const OVERLAP = [
  ['allow', 'Allow: every fire starts a run'],
  ['skip', 'Skip: no new run while one is queued or running'],
  ['queue_one', 'Queue one: at most one run waits behind a running one'],
  ['cancel_previous', 'Cancel previous: stop active runs, then start'],
];
const NOTIFY_STATUSES = [
  ['SUCCESS', 'Success'], ['PARTIAL_SUCCESS', 'Partial success'], ['FAILED', 'Failed'],
  ['CANCELLED', 'Cancelled'], ['WARNING', 'Warning'],
];
const CATCHUP = [
  ['once', 'Once: one run for the missed fires'],
  ['skip', 'Skip: drop missed fires'],
  ['all', 'All: one run per missed fire (up to the limit)'],
];

export async function jobFormPage(el, { params, token }) {
  const editing = !!params.id;
  if (!can(editing ? 'edit' : 'create')) {
    el.append(pageHeader(editing ? 'Edit job' : 'Create job'),
      h('p', {}, `Your role may not ${editing ? 'edit' : 'create'} jobs; that needs the admin role.`));
    return;
  }
  const [tasks, queues, job] = await Promise.all([
    getTasks(), getQueues({ fresh: true }), editing ? api.get(`/jobs/${encodeURIComponent(params.id)}`).catch((err) => {
      if (err.status === 404) return null;
      throw err;
    }) : null,
  ]);
  if (!isCurrent(token)) return;
  if (editing && !job) {
    el.append(pageHeader('Job not found'),
      h('p', {}, `No job has the id ${params.id}; it may have been deleted. `, h('a', { href: '/jobs' }, 'Back to the jobs.')));
    return;
  }
  // the jobs a success starts, by title (the job has their ids only)
  const chained = await Promise.all(((job && job.on_success) || []).map((id) => api.get(`/jobs/${id}`)
    .then((j) => ({ id, title: j.title, active: j.active }), () => ({ id, title: `Job ${shortId(id)}`, active: true }))));
  if (!isCurrent(token)) return;

  const title = input({ name: 'title', maxlength: 250, value: job ? job.title : '', required: true });
  const description = h('textarea', { name: 'description', rows: 3 });
  description.value = job && job.description ? job.description : '';
  const queue = select(queues.map((q) => [q.name, queueLabel(q)]));
  // a paused queue holds the runs of the job until it is resumed: said under the picker
  const { note: queueNote, show: showQueueNote } = pausedQueueNote(queue, queues, 'runs of this job wait there');
  // a job whose job type is no longer loaded (its task file removed) keeps its type and arguments
  const gone = editing && !tasks.some((t) => t.id === job.task);
  const task = select([['', 'Choose a job type…']].concat(tasks.map((t) => [t.id, `${t.title} (${t.id})`]),
    gone ? [[job.task, `${job.task} (not loaded)`]] : []), {
    disabled: editing, required: true,
  });
  const taskInfo = h('div', { class: 'task-info hint', 'aria-live': 'polite' });
  const active = h('input', { type: 'checkbox', name: 'active', checked: job ? job.active : true });
  const timeout = input({ name: 'timeout', value: job && job.timeout ? job.timeout : '', placeholder: 'the job type\'s', class: 'short' });
  const overlap = select(OVERLAP, { value: job ? job.overlap : 'allow' });
  const catchup = select(CATCHUP, { value: job ? job.catchup : 'once' });
  const catchupLimit = input({ type: 'number', min: 1, max: 10000, step: 1, value: job ? job.catchup_limit : 100, class: 'short' });
  const maxRetries = input({ type: 'number', min: 0, max: 100, step: 1, value: job && job.max_retries ? job.max_retries : '', placeholder: '0', class: 'short' });
  const retryBackoff = input({ value: job && job.retry_backoff && job.retry_backoff !== '30s' ? job.retry_backoff : '', placeholder: '30s', class: 'short' });
  const retention = input({ value: job && job.retention ? job.retention : '', placeholder: 'the server\'s', class: 'short' });
  const alertAfter = input({ value: job && job.alert_after ? job.alert_after : '', placeholder: 'never', class: 'short' });
  // notifications: the final statuses that notify, then who hears of them (one per line)
  const notifyOn = NOTIFY_STATUSES.map(([value, text]) => h('label', { class: 'inline-check' },
    h('input', { type: 'checkbox', name: 'notify', value, checked: !!(job && (job.notification_statuses || []).includes(value)) }), text));
  const lines = (list) => (list || []).join('\n');
  const emails = h('textarea', { name: 'notification_emails', rows: 2, placeholder: 'ops@example.org' });
  emails.value = lines(job && job.notification_emails);
  const webhooks = h('textarea', { name: 'notification_webhooks', rows: 2, placeholder: 'https://hooks.example.org/sked' });
  webhooks.value = lines(job && job.notification_webhooks);
  const listOf = (ta) => ta.value.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);

  let queueTouched = editing;
  queue.addEventListener('change', () => { queueTouched = true; });
  if (job) {
    task.value = job.task;
    queue.value = job.default_queue;
  }
  showQueueNote();

  // Save waits for the job type's arguments: a save before they are shown would send none,
  // replacing the saved ones
  const save = button('Save', { kind: 'primary', iconName: 'check', type: 'submit' });
  save.disabled = true;
  const argsBox = h('div', { class: 'args-box' }, h('p', { class: 'hint' }, 'Loading the job type\'s arguments…'));
  let argsPart = null;
  const customEd = jsonEditor({
    label: 'Custom args', apiField: 'custom_args', kind: 'object', rows: 5,
    value: job && job.custom_args ? job.custom_args : '',
    placeholder: customArgsExample(null),
    hint: 'Optional JSON object. When set, every run receives exactly this object instead of the arguments above.',
    onChange: () => refresh(),
  });
  let loading = true; /* the chosen job type's arguments are on their way */
  let argsFailed = false; /* they could not be read: a new job waits for them, an edit keeps the saved ones */
  function refresh() {
    save.disabled = loading || (argsFailed && !editing) || !(customEd.valid && (!argsPart || argsPart.editors.every((e) => e.valid)));
  }

  async function showTask() {
    const t = tasks.find((x) => x.id === task.value);
    put(taskInfo, t ? h('span', {}, t.description || t.title)
      : gone ? 'Not loaded (its task file is missing): the job cannot run until it is back.' : 'The program a run starts; it cannot be changed later.');
    if (!t) {
      argsPart = null;
      loading = false;
      put(argsBox, h('p', { class: 'hint' }, gone
        ? `The job type ${job.task} is not loaded (its task file is missing), so its arguments cannot be shown here; saving keeps them as they are.`
        : 'Choose a job type to see its arguments.'));
      refresh();
      return;
    }
    if (!queueTouched && t.default_queue) {
      queue.value = t.default_queue;
      showQueueNote();
    }
    loading = true;
    argsFailed = false;
    refresh();
    let schema;
    try {
      schema = await getTaskArgs(t.id);
    } catch (err) {
      if (task.value !== t.id || err.status === 401) return;
      argsPart = null;
      loading = false;
      argsFailed = true;
      put(argsBox, argsError(err, t));
      refresh();
      return;
    }
    if (task.value !== t.id) return;
    loading = false;
    customEd.textarea.placeholder = customArgsExample(schema);
    const saved = job ? { ...(job.run_args || {}) } : {};
    delete saved.custom_args;
    argsPart = argsForm(schema, saved, { onValidity: () => refresh(), saved: true });
    put(argsBox, argsPart.el);
    refresh();
  }
  task.addEventListener('change', showTask);

  /** The job type's arguments could not be read: said, with what Save does meanwhile, and a way to ask again. */
  function argsError(err, t) {
    return h('div', {},
      errorBox(err, { what: `Could not load the arguments of the job type ${t.title} (${t.id})` }),
      h('p', { class: 'hint' }, editing
        ? 'Until they are shown, Save keeps the saved arguments as they are.'
        : 'Save waits for them: the job\'s arguments cannot be entered until they are shown.'),
      button('Load the arguments again', { small: true, onclick: retryArgs }));
  }

  // the keyboard goes on in what replaced the button: the first argument, or the button again
  async function retryArgs() {
    await showTask();
    const first = argsBox.querySelector('input, select, textarea, button');
    if (first) first.focus();
  }

  const chain = chainField({ selfId: job ? job.id : null, chosen: chained });

  const summary = errorSummary();
  const form = h('form', { class: 'job-form', novalidate: true },
    summary,
    field({ label: 'Title', control: title, field: 'title', required: true, hint: 'Names the job in the lists and on its page.' }),
    field({ label: 'Description', control: description, field: 'description', hint: 'A short description of what the job does.' }),
    describedAlsoBy(field({ label: 'Queue', control: queue, field: 'default_queue', hint: 'The queue runs wait in unless a run names another.', extra: queueNote }), queue, queueNote),
    field({ label: 'Task', control: task, field: 'task', required: true, extra: taskInfo }),
    field({ label: 'Active', control: active, field: 'active', inline: true, hint: 'Inactive jobs do not run on their schedule; they can still be run by hand.' }),
    fieldGroup({ legend: 'Arguments', field: 'args' },
      h('p', { class: 'hint' }, 'Saved with the job and used by every run that does not give its own. Empty fields take the job type\'s defaults.'),
      argsBox),
    customEd.el,
    h('fieldset', { class: 'box' }, h('legend', {}, 'Policies'),
      h('div', { class: 'grid-fields wide' },
        field({ label: 'Run timeout', control: timeout, field: 'timeout', hint: 'Longest run time: 90s, 10m, 2h, 1h30m, 1d. Empty: the job type\'s.' }),
        field({ label: 'Overlap', control: overlap, field: 'overlap', hint: 'What a scheduled fire does while the job still has runs.' }),
        field({ label: 'Catch-up', control: catchup, field: 'catchup', hint: 'What happens to fires missed while sked was down.' }),
        field({ label: 'Catch-up limit', control: catchupLimit, field: 'catchup_limit', hint: 'Most missed fires "All" runs (1 to 10000).' }),
        field({ label: 'Retries', control: maxRetries, field: 'max_retries', hint: 'More attempts a failed run gets (0 to 100).' }),
        field({ label: 'Retry backoff', control: retryBackoff, field: 'retry_backoff', hint: 'Wait before the first retry, doubled for each further one.' }),
        field({ label: 'Keep finished runs for', control: retention, field: 'retention', hint: 'How long this job\'s finished runs are kept, such as 30d. Empty: the server\'s retention.' }))),
    h('fieldset', { class: 'box' }, h('legend', {}, 'Chain'), chain.el),
    h('fieldset', { class: 'box' }, h('legend', {}, 'Notifications'),
      h('div', { class: 'field', dataset: { field: 'notification_statuses' } },
        h('div', { role: 'group', 'aria-label': 'Notify when a run ends', class: 'check-row' },
          h('span', { class: 'label-text' }, 'Notify when a run ends'), notifyOn),
        h('div', { class: 'hint' }, 'The final statuses that send the e-mails and webhooks below; none checked: no notification.'),
        h('div', { class: 'field-error', role: 'alert' })),
      h('div', { class: 'grid-fields wide' },
        field({ label: 'Notification e-mails', control: emails, field: 'notification_emails', hint: 'One address per line; the server\'s SMTP settings send them.' }),
        field({ label: 'Webhooks', control: webhooks, field: 'notification_webhooks', hint: 'One http:// or https:// URL per line (at most 10); each gets a signed POST.' }),
        field({
          label: 'Alert when no success for', control: alertAfter, field: 'alert_after',
          hint: 'Tell the e-mails and webhooks above when the job has not succeeded for this long, such as 26h, and again when it does. Empty: no alert.',
        }))),
    h('div', { class: 'form-actions' },
      button('Cancel', { kind: 'ghost', onclick: leave }),
      save));

  // what the user typed or picked (not what the form filled in) is not thrown away unasked:
  // not by Cancel, and (through the router) not by a link, Back, Forward, a reload or closing the tab
  let edited = false;
  for (const type of ['input', 'change']) form.addEventListener(type, (e) => { if (e.isTrusted) edited = true; });
  holdOnLeave(() => edited);
  async function leave() {
    if (edited && !await confirmDialog({
      title: 'Discard your changes?', message: `What you entered in “${job ? job.title : 'New job'}” is not saved.`,
      confirmLabel: 'Discard', cancelLabel: 'Keep editing',
    })) return;
    edited = false; /* asked already */
    // back where it came from in the app; opened from elsewhere, to the job (not off the app)
    if (cameFromApp()) history.back();
    else navigate(job ? `/jobs/${job.id}` : '/jobs');
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (save.disabled) return;
    const read = argsPart ? argsPart.read() : { value: {}, errors: [] };
    const limit = catchupLimit.value === '' ? undefined : Number(catchupLimit.value);
    // what is missing is said here, in plain words, before the server would
    const missing = [];
    if (!title.value.trim()) missing.push({ field: 'title', messages: ['Enter a title'] });
    if (!editing && !task.value) missing.push({ field: 'task', messages: ['Choose a job type'] });
    const body = {
      // an untouched title goes back as saved; a description of spaces alone is none, any
      // other is kept as typed (its indentation and blank lines may be meant)
      title: editing && title.value === job.title ? job.title : title.value.trim(),
      description: description.value.trim() ? description.value : null,
      default_queue: queue.value,
      active: active.checked,
      args: read.value,
      // null clears saved custom args; an object sets them
      custom_args: customEd.value && Object.keys(customEd.value).length ? customEd.value : null,
      timeout: timeout.value.trim() || null,
      overlap: overlap.value,
      catchup: catchup.value,
      catchup_limit: Number.isNaN(limit) ? catchupLimit.value : limit,
      // null takes the server's default for each
      max_retries: maxRetries.value === '' ? null : Number(maxRetries.value),
      retry_backoff: retryBackoff.value.trim() || null,
      retention: retention.value.trim() || null,
      alert_after: alertAfter.value.trim() || null,
      notification_statuses: notifyOn.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value),
      notification_emails: listOf(emails),
      notification_webhooks: listOf(webhooks),
      on_success: chain.ids(),
    };
    if (!editing) body.task = task.value || null;
    if (gone || argsFailed) delete body.args; /* not shown, so kept */
    // If-Match: the job as the form read it, so a colleague's change made meanwhile is not
    // silently undone (412).
    const send = (query) => (editing
      ? api.patch(`/jobs/${job.id}`, body, { query, headers: { 'If-Match': `"${job.updated}"` } })
      : api.post('/jobs', body, { query }));
    save.disabled = true;
    if (missing.length || read.errors.length) {
      // What is wrong here is said with what the server finds wrong in the other fields (a
      // dry run, which stores nothing), so that one round shows every error.
      const mine = [...missing, ...read.errors];
      const others = await send({ dry_run: true }).then(() => [], (err) => (err.status === 400 ? err.errors : []));
      const named = (f) => mine.some((m) => f === m.field || String(f).startsWith(`${m.field}.`));
      const more = others.filter((e) => !named(e.field));
      const message = missing.length ? 'Some fields need a value.' : more.length ? 'Some fields are not valid.' : 'Some arguments are not valid.';
      (applyErrors(form, { message, errors: [...mine, ...more] }) || save).focus();
      refresh();
      return;
    }
    try {
      if (editing) {
        // checked Active on an inactive job whose interval then fires at once: asked, as the
        // job page's Activate asks
        const firesNow = active.checked && intervalFiresNow(job);
        if (firesNow && !await confirmActivation(job)) return;
        // PATCH names only the form's fields, so the schedule and what the form does not show stay.
        const saved = await send();
        edited = false;
        toast(firesNow ? `Saved and activated “${saved.title}”: its interval fired at once, so a run starts now.`
          : `Saved “${saved.title}”.`);
        navigate(`/jobs/${saved.id}`);
      } else {
        const created = await send();
        edited = false;
        toast(`Created “${created.title}”.`);
        navigate('/jobs');
      }
    } catch (err) {
      if (err.status === 401) return;
      if (err.status === 412) {
        err.message = 'Someone changed this job after you opened this form. Open the job again to see their change, then make yours';
      }
      (applyErrors(form, err, { what: editing ? 'Could not save the job' : 'Could not create the job' }) || save).focus();
    } finally {
      refresh();
    }
  });

  el.append(
    h('div', { class: 'back-row' }, h('a', { href: job ? `/jobs/${job.id}` : '/jobs', class: 'btn btn-ghost btn-small' }, icon('back'), h('span', {}, 'Back'))),
    pageHeader(editing ? `Edit “${job.title}”` : 'Create job'),
    form);
  // the title takes the focus once the form is whole, unless the user put it elsewhere meanwhile
  const focusedFirst = document.activeElement;
  await showTask();
  if (isCurrent(token) && [document.body, focusedFirst].includes(document.activeElement)) title.focus();
}

// ---- "Chain": the jobs a success starts ---------------------------------------------------

const CHAIN_MAX = 20; /* the API's limit */
const S = {
  // inline, as only this form has the widget; the colours are the scheme's variables
  wrap: 'position: relative',
  chips: 'display: flex; flex-wrap: wrap; gap: 0.4rem; list-style: none; margin: 0 0 0.2rem; padding: 0',
  chip: 'display: inline-flex; align-items: center; gap: 0.15rem; max-width: 100%; padding: 0.1rem 0.15rem 0.1rem 0.65rem;'
    + ' border: 1px solid var(--control-border); border-radius: 1rem; background: var(--surface-2)',
  chipText: 'overflow-wrap: anywhere; font-weight: 500',
  chipX: 'display: inline-flex; flex: none; align-items: center; justify-content: center; width: 1.75rem; height: 1.75rem;'
    + ' padding: 0; border: 0; border-radius: 999px; background: none; color: var(--muted); cursor: pointer',
  popup: 'position: absolute; z-index: 5; left: 0; right: 0; top: calc(100% + 2px); background: var(--surface);'
    + ' border: 1px solid var(--control-border); border-radius: 6px; box-shadow: 0 6px 20px rgba(0, 0, 0, 0.18);'
    + ' max-height: 18rem; overflow-y: auto',
  list: 'list-style: none; margin: 0; padding: 0.25rem 0',
  option: 'display: flex; flex-direction: column; padding: 0.4rem 0.75rem; cursor: pointer; border-left: 3px solid transparent',
  optionActive: 'background: color-mix(in srgb, var(--primary) 14%, var(--surface)); border-left-color: var(--primary)',
  note: 'margin: 0; padding: 0.45rem 0.75rem; font-size: 0.87rem; color: var(--muted)',
};

/**
 * A multiple choice of jobs by title: a combobox (ARIA 1.2) that searches the jobs through the
 * API, so any number of jobs stays quick, and the chosen ones as chips, each with a button that
 * removes it. Arrow keys move through the jobs found, Enter adds one, Escape closes the list.
 * The job itself and those already chosen are not offered. The container is the field
 * "on_success" of applyErrors(), with the error slot of the other fields.
 * `chosen`: [{id, title, active}]. Returns {el, ids()}.
 */
function chainField({ selfId, chosen: initial }) {
  const chosen = [...initial];
  const id = nextId('chain');
  const hintId = `${id}-hint`;
  const errId = `${id}-err`;
  const listId = `${id}-list`;
  const input = h('input', {
    type: 'text', id, role: 'combobox', autocomplete: 'off', spellcheck: 'false', 'aria-autocomplete': 'list',
    'aria-expanded': 'false', 'aria-controls': listId, 'aria-describedby': `${hintId} ${errId}`,
    placeholder: 'Type part of a job’s title', style: 'width: 100%',
  });
  const chips = h('ul', { 'aria-label': 'Jobs started on success', style: S.chips });
  const list = h('ul', { id: listId, role: 'listbox', 'aria-label': 'Jobs found', style: S.list });
  const note = h('p', { style: S.note });
  // a press in the list (an option, its scroll bar) leaves the focus in the search
  const popup = h('div', { style: S.popup, hidden: true, onmousedown: (e) => e.preventDefault() }, list, note);
  // what the list found and what was added or removed, said once
  const status = h('div', { class: 'visually-hidden', role: 'status' });
  const err = h('div', { class: 'field-error', id: errId, role: 'alert' });
  let options = []; /* the jobs listed: [{job, el}] */
  let active = -1;
  let controller = null;
  let asked = 0;
  let stale = false; /* the list shown is not yet that of the text typed */
  let asking = false; /* a search is on its way */

  const isOpen = () => !popup.hidden;
  function close() {
    // a search on its way would open the list again
    searchSoon.cancel();
    if (controller) controller.abort();
    asked += 1;
    asking = false;
    stale = false;
    popup.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  }
  function open() {
    popup.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }
  function setActive(i) {
    if (options[active]) {
      options[active].el.setAttribute('style', S.option);
      options[active].el.setAttribute('aria-selected', 'false');
    }
    active = i;
    const o = options[i];
    if (!o) {
      input.removeAttribute('aria-activedescendant');
      return;
    }
    o.el.setAttribute('style', `${S.option}; ${S.optionActive}`);
    o.el.setAttribute('aria-selected', 'true');
    input.setAttribute('aria-activedescendant', o.el.id);
    o.el.scrollIntoView({ block: 'nearest' });
  }
  // an error was about the list it was given: a changed list takes it away
  function changed() {
    err.textContent = '';
    input.removeAttribute('aria-invalid');
  }

  function renderChips() {
    chips.hidden = !chosen.length;
    put(chips, chosen.map((c, i) => h('li', { style: S.chip, dataset: { jobId: c.id } },
      h('span', { style: S.chipText }, c.title),
      c.active ? null : h('small', { class: 'muted' }, '(inactive)'),
      h('button', {
        type: 'button', style: S.chipX, 'aria-label': `Remove “${c.title}”`, title: `Remove “${c.title}”`,
        onclick: () => remove(i),
      }, icon('x')))));
  }
  function add(job) {
    if (chosen.length >= CHAIN_MAX || chosen.some((c) => c.id === job.id)) return;
    chosen.push({ id: job.id, title: job.title, active: job.active });
    renderChips();
    changed();
    input.value = '';
    close();
    status.textContent = `Added “${job.title}”; ${chosen.length} job${chosen.length === 1 ? '' : 's'} chosen.`;
    input.focus();
  }
  function remove(i) {
    const [gone] = chosen.splice(i, 1);
    renderChips();
    changed();
    status.textContent = `Removed “${gone.title}”; ${chosen.length ? `${chosen.length} job${chosen.length === 1 ? '' : 's'} chosen` : 'none chosen'}.`;
    // the focus goes to the next chip's button, else the previous one's, else the search
    const buttons = chips.querySelectorAll('button');
    (buttons[Math.min(i, buttons.length - 1)] || input).focus();
  }

  // `activate`: the option made active when the jobs arrive ('first', 'last'), for the arrow
  // keys pressed before they did
  async function search({ activate } = {}) {
    if (controller) controller.abort();
    const mine = ++asked;
    stale = true;
    if (chosen.length >= CHAIN_MAX) {
      showFound([], `At most ${CHAIN_MAX} jobs: remove one to add another.`);
      return;
    }
    controller = new AbortController();
    const q = input.value.trim();
    let data;
    asking = true;
    try {
      // the excluded ones come back too: ask for enough that 20 others remain
      data = await api.get('/jobs', { q, size: 20 + chosen.length + 1, sort: 'title' }, { signal: controller.signal });
    } catch (e) {
      if (e.name === 'AbortError' || mine !== asked) return;
      asking = false;
      showFound([], `The jobs cannot be searched: ${e.message}`);
      return;
    }
    if (mine !== asked) return;
    asking = false;
    if (document.activeElement !== input) return;
    const skip = new Set([selfId, ...chosen.map((c) => c.id)]);
    const found = data.hits.hits.filter((j) => !skip.has(j.id)).slice(0, 20);
    const more = data.hits.total > data.hits.hits.length;
    showFound(found, !found.length ? (q ? `No other job’s title or description has “${q}”.` : 'There is no other job.')
      : more ? 'More jobs match: type more of the title.' : '', activate);
  }
  function showFound(found, text, activate) {
    stale = false;
    options = found.map((job) => ({
      job,
      el: h('li', {
        id: `${listId}-${job.id}`, role: 'option', 'aria-selected': 'false', style: S.option,
        onclick: () => add(job),
      }, h('span', { style: 'font-weight: 600; overflow-wrap: anywhere' }, job.title),
      h('small', { class: 'muted' }, `${job.task} · queue ${job.default_queue}${job.active ? '' : ' · inactive: passed over'}`)),
    }));
    active = -1;
    input.removeAttribute('aria-activedescendant');
    list.hidden = !options.length;
    put(list, options.map((o) => o.el));
    note.textContent = text;
    note.hidden = !text;
    open();
    if (activate && options.length) setActive(activate === 'last' ? options.length - 1 : 0);
    status.textContent = options.length ? `${options.length} job${options.length === 1 ? '' : 's'} found${text ? `. ${text}` : ''}` : text;
  }
  const searchSoon = debounce(search, 200);
  onLeave(() => {
    searchSoon.cancel();
    if (controller) controller.abort();
  });

  input.addEventListener('input', () => {
    stale = true;
    searchSoon();
  });
  input.addEventListener('click', () => { if (!isOpen()) search(); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const end = e.key === 'ArrowDown' ? 'first' : 'last';
      if (!isOpen() || stale) {
        searchSoon.cancel();
        search({ activate: end });
        return;
      }
      if (!options.length) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive(active < 0 ? (step > 0 ? 0 : options.length - 1) : (active + step + options.length) % options.length);
    } else if (e.key === 'Enter') {
      // while searching Enter picks from the list, never sends the form; one pressed before
      // the jobs of the text typed arrived picks nothing
      if (!isOpen() && !input.value.trim()) return;
      e.preventDefault();
      if (stale || !isOpen()) {
        searchSoon.cancel();
        if (!asking) search();
      } else if (options[active]) {
        add(options[active].job);
      }
    } else if (e.key === 'Escape') {
      if (isOpen() || asking || stale) {
        e.preventDefault();
        close();
      } else if (input.value) {
        e.preventDefault();
        input.value = '';
      }
    }
  });
  const wrap = h('div', { style: S.wrap }, input, popup);
  wrap.addEventListener('focusout', (e) => {
    if (!wrap.contains(e.relatedTarget)) close();
  });
  renderChips();

  const el = h('div', { class: 'field', dataset: { field: 'on_success' } },
    h('label', { for: id }, 'When a run succeeds, start these jobs'),
    chips, wrap,
    h('div', { class: 'hint', id: hintId },
      `Each gets a run of its own when a run of this job ends in success (not partial success or warning): in its own queue, with its saved arguments, under its own overlap policy. Inactive jobs are passed over. At most ${CHAIN_MAX}.`),
    err, status);
  return { el, ids: () => chosen.map((c) => c.id) };
}
