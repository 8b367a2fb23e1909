// Create and edit a job. The arguments part is generated from the chosen job type's schema;
// what the form cannot express goes in "Custom args" (JSON, checked while typing).

import { api } from '../api.js';
import { h, icon, put } from '../dom.js';
import {
  button, field, input, select, errorSummary, applyErrors, pageHeader, toast,
} from '../components.js';
import { argsForm, jsonEditor } from '../argsform.js';
import { getTasks, getQueues, getTaskArgs } from '../catalog.js';
import { navigate, isCurrent } from '../router.js';
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
    getTasks(), getQueues(), editing ? api.get(`/jobs/${params.id}`) : null,
  ]);
  if (!isCurrent(token)) return;

  const title = input({ name: 'title', maxlength: 250, value: job ? job.title : '', required: true });
  const description = h('textarea', { name: 'description', rows: 3 });
  description.value = job && job.description ? job.description : '';
  const queue = select(queues.map((q) => [q.name, `${q.title || q.name} (${q.concurrency} at a time)`]));
  const task = select([['', 'Choose a job type…']].concat(tasks.map((t) => [t.id, `${t.title} (${t.id})`])), {
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

  const save = button('Save', { kind: 'primary', iconName: 'check', type: 'submit' });
  const argsBox = h('div', { class: 'args-box' });
  let argsPart = null;
  const customEd = jsonEditor({
    label: 'Custom args', apiField: 'custom_args', kind: 'object', rows: 5,
    value: job && job.custom_args ? job.custom_args : '',
    placeholder: '{"records": 5}',
    hint: 'Optional JSON object. When set, every run receives exactly this object instead of the arguments above.',
    onChange: () => refresh(),
  });
  function refresh() {
    save.disabled = !(customEd.valid && (!argsPart || argsPart.editors.every((e) => e.valid)));
  }

  async function showTask() {
    const t = tasks.find((x) => x.id === task.value);
    put(taskInfo, t ? h('span', {}, t.description || t.title) : 'The program a run starts; it cannot be changed later.');
    if (!t) {
      argsPart = null;
      put(argsBox, h('p', { class: 'hint' }, 'Choose a job type to see its arguments.'));
      refresh();
      return;
    }
    if (!queueTouched && t.default_queue) queue.value = t.default_queue;
    const schema = await getTaskArgs(t.id).catch(() => ({}));
    if (task.value !== t.id) return;
    const saved = job ? { ...(job.run_args || {}) } : {};
    delete saved.custom_args;
    argsPart = argsForm(schema, saved, { onValidity: () => refresh() });
    put(argsBox, argsPart.el);
    refresh();
  }
  task.addEventListener('change', showTask);

  const summary = errorSummary();
  const form = h('form', { class: 'job-form', novalidate: true },
    summary,
    field({ label: 'Name', control: title, field: 'title', required: true, hint: 'A title for the job.' }),
    field({ label: 'Description', control: description, field: 'description', hint: 'A short description of what the job does.' }),
    field({ label: 'Queue', control: queue, field: 'default_queue', hint: 'The queue runs wait in unless a run names another.' }),
    field({ label: 'Task', control: task, field: 'task', required: true, extra: taskInfo }),
    field({ label: 'Active', control: active, field: 'active', inline: true, hint: 'Inactive jobs do not run on their schedule; they can still be run by hand.' }),
    h('fieldset', { class: 'box', dataset: { field: 'args' } }, h('legend', {}, 'Arguments'),
      h('p', { class: 'hint' }, 'Saved with the job and used by every run that does not give its own. Empty fields take the job type\'s defaults.'),
      argsBox, h('div', { class: 'field-error', role: 'alert' })),
    customEd.el,
    h('fieldset', { class: 'box' }, h('legend', {}, 'Policies'),
      h('div', { class: 'grid-fields wide' },
        field({ label: 'Timeout', control: timeout, field: 'timeout', hint: 'Longest run time: 90s, 10m, 2h, 1h30m, 1d. Empty: the job type\'s.' }),
        field({ label: 'Overlap', control: overlap, field: 'overlap', hint: 'What a scheduled fire does while the job still has runs.' }),
        field({ label: 'Catch-up', control: catchup, field: 'catchup', hint: 'What happens to fires missed while sked was down.' }),
        field({ label: 'Catch-up limit', control: catchupLimit, field: 'catchup_limit', hint: 'Most missed fires "All" runs (1 to 10000).' }),
        field({ label: 'Retries', control: maxRetries, field: 'max_retries', hint: 'More attempts a failed run gets (0 to 100).' }),
        field({ label: 'Retry backoff', control: retryBackoff, field: 'retry_backoff', hint: 'Wait before the first retry, doubled for each further one.' }),
        field({ label: 'Retention', control: retention, field: 'retention', hint: 'How long finished runs are kept, such as 30d. Empty: the server\'s.' }))),
    h('fieldset', { class: 'box' }, h('legend', {}, 'Notifications'),
      h('div', { class: 'field', dataset: { field: 'notification_statuses' } },
        h('div', { role: 'group', 'aria-label': 'Notify when a run ends', class: 'check-row' },
          h('span', { class: 'label-text' }, 'Notify when a run ends'), notifyOn),
        h('div', { class: 'hint' }, 'The final statuses that send the e-mails and webhooks below; none checked: no notification.'),
        h('div', { class: 'field-error', role: 'alert' })),
      h('div', { class: 'grid-fields wide' },
        field({ label: 'Notification e-mails', control: emails, field: 'notification_emails', hint: 'One address per line; the server\'s SMTP settings send them.' }),
        field({ label: 'Webhooks', control: webhooks, field: 'notification_webhooks', hint: 'One http:// or https:// URL per line (at most 10); each gets a signed POST.' }))),
    h('div', { class: 'form-actions' },
      button('Cancel', { kind: 'ghost', onclick: () => history.length > 1 ? history.back() : navigate(job ? `/jobs/${job.id}` : '/jobs') }),
      save));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (save.disabled) return;
    const read = argsPart ? argsPart.read() : { value: {}, errors: [] };
    const limit = catchupLimit.value === '' ? undefined : Number(catchupLimit.value);
    if (read.errors.length) {
      (applyErrors(form, { message: 'Some arguments are not valid.', errors: read.errors }) || save).focus();
      return;
    }
    const body = {
      title: title.value.trim(),
      description: description.value.trim() || null,
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
      notification_statuses: notifyOn.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value),
      notification_emails: listOf(emails),
      notification_webhooks: listOf(webhooks),
    };
    if (!editing) body.task = task.value || null;
    save.disabled = true;
    try {
      if (editing) {
        // PATCH names only the form's fields, so the schedule and what the form does not show stay.
        const saved = await api.patch(`/jobs/${job.id}`, body);
        toast(`Saved “${saved.title}”.`);
        navigate(`/jobs/${saved.id}`);
      } else {
        const created = await api.post('/jobs', body);
        toast(`Created “${created.title}”.`);
        navigate('/jobs');
      }
    } catch (err) {
      if (err.status === 401) return;
      (applyErrors(form, err) || save).focus();
    } finally {
      refresh();
    }
  });

  el.append(
    h('div', { class: 'back-row' }, h('a', { href: job ? `/jobs/${job.id}` : '/jobs', class: 'btn btn-ghost btn-small' }, icon('back'), h('span', {}, 'Back'))),
    pageHeader(editing ? `Edit “${job.title}”` : 'Create job'),
    form);
  await showTask();
  title.focus();
}
