// The job actions that open a dialog: "Configure and run…", "Schedule…", and the
// confirmations of deleting a job or a run. Used by the jobs list and the job page alike.

import { api } from './api.js';
import {
  h, icon, debounce, fullTime, parseTime, describeSchedule, nextId, put, readInstant, utcText, relativeTime,
  intervalSeconds, splitSeconds, plural,
} from './dom.js';
import {
  button, field, fieldGroup, input, select, openDialog, confirmDialog, errorSummary, applyErrors, clearErrors, toast, textBlock,
  describedAlsoBy, focusBack, errorText,
} from './components.js';
import { argsForm, jsonEditor, sinceForInput, dateTimeProblem, customArgsExample, secretName } from './argsform.js';
import { getQueues, getTaskArgs, getTasks, queueLabel, pausedText } from './catalog.js';
import { can } from './session.js';
import { navigate } from './router.js';

function parseDefaultArgs(job) {
  try {
    return JSON.parse(job.default_args);
  } catch {
    return null;
  }
}

function savedArgs(job) {
  const a = { ...(job.run_args || job.args || {}) };
  delete a.custom_args;
  return a;
}

/**
 * The queue picker, on `value`, else on `fallback` (a run's queue that is no longer configured),
 * with a note under it while the chosen queue is paused: the run would wait there. Read afresh,
 * as a pause may have come since the queues were last read. Returns {select, note}.
 */
async function queueSelect(value, fallback = value) {
  const queues = await getQueues({ fresh: true });
  const s = select(queues.map((q) => [q.name, queueLabel(q)]), { value });
  if (s.value !== value) s.value = fallback;
  return { select: s, note: pausedQueueNote(s, queues, 'this run waits').note };
}

/**
 * The note under a queue picker while the queue picked is paused (`waits`: what waits there,
 * for pausedText). Returns {note, show}: show() again after setting the picker's value in code.
 */
export function pausedQueueNote(picker, queues, waits) {
  const note = h('div', { class: 'notice notice-warn queue-paused-note', id: nextId('qp') });
  const show = () => {
    const q = queues.find((x) => x.name === picker.value);
    note.hidden = !(q && q.paused);
    put(note, note.hidden ? null : [icon('alert'), h('span', {}, pausedText(q, waits))]);
  };
  picker.addEventListener('change', show);
  show();
  return { note, show };
}

/** A Date in the browser's zone and in UTC, as the Since field is typed: UTC alone in UTC. */
function bothTimes(d) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone === 'UTC' || zone === 'Etc/UTC') return utcText(d);
  return `${fullTime(d.toISOString())} (${utcText(d)})`;
}

// ---- Configure and run -----------------------------------------------------------------

/**
 * The "Configure and run" dialog; "Run now" starts the run and opens its page. With `from` (a
 * finished run of the job) it is "Run again": that run's title and queue, and its arguments as
 * it received them (run.args, with the `since` it resolved) as custom args, so the new run gets
 * exactly what it got and processes the same window again.
 */
export async function configureAndRun(job, { from = null } = {}) {
  let schema;
  let queue;
  let task;
  let lastSuccess;
  try {
    // A job whose type is no longer loaded has no schema (404, null here): its runs will be
    // refused, and the server's answer says why.
    [schema, queue, task, lastSuccess] = await Promise.all([getTaskArgs(job.task).catch((e) => (e.status === 404 ? null : Promise.reject(e))),
      queueSelect(from ? from.queue : job.default_queue, job.default_queue),
      getTasks().then((ts) => ts.find((t) => t.id === job.task)).catch(() => null),
      lastSuccessStart(job)]);
  } catch (err) {
    if (err.status !== 401) toast(errorText(err, 'Could not open the run dialog'), 'error');
    return;
  }
  const queueNote = queue.note;
  queue = queue.select;
  const notInstalled = schema === null;
  const defaults = parseDefaultArgs(job);
  // a job type whose runs take other arguments only from admins ("operator_args": false), and
  // a job whose arguments refer to secrets, which an operator could send elsewhere
  const keptBy = task && task.operator_args === false ? `runs of ${job.task} take the arguments an admin saved with the job`
    : refersToSecrets(job.run_args) || refersToSecrets(schema) ? 'this job\'s arguments refer to secrets, so its runs take the arguments an admin saved'
      : null;
  if (keptBy && !can('edit')) {
    runWithSavedArgs(job, { from, queue, queueNote, defaults, keptBy, notInstalled });
    return;
  }
  const hasSavedCustom = job.custom_args && Object.keys(job.custom_args).length > 0;
  const runArgs = from && from.args && typeof from.args === 'object' && !Array.isArray(from.args) && Object.keys(from.args).length
    ? from.args : null;
  const customStart = from ? runArgs || '' : hasSavedCustom ? job.custom_args : '';

  const title = input({ name: 'title', value: runAgainTitle(job, from), maxlength: 250 });
  // What "Since" resolves to when left empty (lastSuccess: the start of the last successful run).
  // The dialog sends the fields as the run's args, which replace the saved ones whole, so an
  // empty since is never the one saved with the job.
  const sinceNote = h('div', { class: 'will-use' });
  const savedSince = savedArgs(job).since;
  let sinceInput = null;
  // custom args win over the fields, the since field too
  const customNow = () => {
    const v = customEd ? customEd.value : (customStart || undefined);
    return v && Object.keys(v).length ? v : null;
  };
  let customEd = null;
  // Custom args reach the task as written, since included (unchecked: it need not be a date).
  function customSince(v) {
    if (v === undefined) return 'None: the custom args below have no since, and the task receives them as they are.';
    if (v === null || v === '') return 'None: the custom args below give since no value.';
    const d = typeof v === 'string' ? readInstant(v).date : null;
    if (d) return `${bothTimes(d)}, from the custom args below (the task gets it as written there).`;
    return `${JSON.stringify(v)}, from the custom args below, as written: custom args are not checked, and this is no date-time.`;
  }
  function updateSinceNote() {
    const typed = sinceInput && sinceInput.value.trim();
    const custom = customNow();
    let text;
    if (custom) text = customSince(custom.since);
    else if (typed && dateTimeProblem(typed)) text = `None yet: “${typed}” is refused (${readInstant(typed).problem}).`;
    else if (typed && readInstant(typed).date > new Date()) {
      // as the server refuses it: a run handles what changed since then, and nothing has yet
      text = `None yet: ${bothTimes(readInstant(typed).date)} is in the future, and a run handles what changed since then.`;
    } else if (typed) text = `${bothTimes(readInstant(typed).date)}, as entered.`;
    else if (lastSuccess) {
      text = `${bothTimes(parseTime(lastSuccess))} — the start of the last successful run${savedSince ? ' (not the since saved with the job: the fields replace the saved arguments)' : ''}.`;
    } else text = 'None: this job has no successful run yet, so the task starts from the beginning.';
    put(sinceNote, h('strong', {}, 'Value that will be used: '), text);
  }

  let runBtn;
  const editorsValid = () => [customEd, ...form.editors].every((e) => !e || e.valid);
  const refresh = () => {
    if (runBtn) runBtn.disabled = !editorsValid();
  };
  // a job type not installed declares nothing to fill in or check: its arguments are not sent
  const form = notInstalled ? { el: notInstalledNote(job), editors: [], read: () => ({ value: undefined, errors: [] }) }
    : argsForm(schema, runArgs || savedArgs(job), {
      onValidity: refresh,
      extra: (name, control) => {
        if (name !== 'since') return null;
        sinceInput = control;
        control.addEventListener('input', updateSinceNote);
        return sinceNote;
      },
    });

  customEd = jsonEditor({
    label: 'Custom args', apiField: 'custom_args', kind: 'object', value: customStart, rows: 6,
    placeholder: customArgsExample(schema),
    hint: 'A JSON object. Leave empty to use the arguments above.',
    onChange: () => {
      refresh();
      updateSinceNote();
    },
  });
  updateSinceNote();
  const summary = errorSummary();
  runBtn = button('Run now', { kind: 'primary', iconName: 'play', type: 'submit' });
  const cancel = button('Cancel', { kind: 'ghost' });

  const content = h('div', {},
    summary,
    from ? againNote(from, runArgs, queue.value !== from.queue) : null,
    field({ label: 'Title', control: title, field: 'title', hint: 'A name for this run, shown in the runs list.' }),
    describedAlsoBy(field({ label: 'Queue', control: queue, field: 'queue', hint: 'The queue this run waits in for a free slot.', extra: queueNote }), queue, queueNote),
    fieldGroup({ legend: 'Args', field: 'args' }, form.el),
    h('details', { class: 'box advanced', open: !!customStart },
      h('summary', {}, 'Advanced configuration'),
      h('p', { class: 'hint' }, 'Reference configuration: the arguments a run started now with the saved settings would get.'),
      textBlock(referenceText(defaults, notInstalled && job.task), 'Reference configuration'),
      h('div', { class: 'notice notice-warn', role: 'note' }, icon('alert'),
        h('span', {}, h('strong', {}, 'Custom args override everything above. '),
          'When given, the task receives exactly this object: the fields above and their defaults are not used, a since in it is passed as written (none if it has none), and nothing is validated.')),
      customEd.el));
  refresh();

  let busy = false;
  const dlg = openDialog({
    title: from ? `Run “${job.title}” again` : `Configure and run “${job.title}”`, content, footer: [cancel, runBtn], wide: true,
    onSubmit: async () => {
      if (busy || !editorsValid()) return;
      const read = form.read();
      const formEl = dlg.dialog.querySelector('form');
      const custom = customEd.value && Object.keys(customEd.value).length ? customEd.value : null;
      // with custom args the fields are not used, so what is wrong in them stops nothing
      if (read.errors.length && !custom) {
        (applyErrors(formEl, { message: 'Some arguments are not valid.', errors: read.errors }) || runBtn).focus();
        return;
      }
      const body = { title: title.value.trim() || null, queue: queue.value };
      if (!read.errors.length) body.args = read.value;
      if (custom) body.custom_args = custom;
      busy = true;
      runBtn.disabled = true;
      try {
        await submitRun(dlg, job, body);
      } finally {
        busy = false;
        refresh();
      }
    },
  });
  cancel.addEventListener('click', () => dlg.dismiss());
}

/** Why a job's arguments are neither shown nor checked: its task is not installed. */
function notInstalledNote(job) {
  return h('div', { class: 'notice notice-warn', role: 'note' }, icon('alert'),
    h('span', {}, h('strong', {}, `The task of this job, ${job.task}, is not installed on this server `),
      '(its task file is missing), so its arguments cannot be shown or checked here, and a run started now is refused until it is back.'));
}

/**
 * The reference configuration as the run dialogs show it (`defaults`: the job's default_args
 * read, null when the server has none); `missingTask`: the id of a task not installed.
 */
function referenceText(defaults, missingTask) {
  if (defaults) return JSON.stringify(defaults, null, 2);
  if (missingTask) return `None: the task ${missingTask} is not installed on this server, so the arguments cannot be checked.`;
  return 'The saved arguments do not validate against the job type.';
}

/**
 * The since a run given arguments without one gets (docs/api.md, "Run arguments"): the start of
 * the job's newest SUCCESS run that had no window of its own (a backfill's, a run's `until`),
 * or null. default_args is the server's own answer for a run without arguments, the same
 * unless the saved arguments give a since (or no longer validate); then it is read from the runs.
 */
async function lastSuccessStart(job) {
  const defaults = parseDefaultArgs(job);
  if (defaults && !savedArgs(job).since) return defaults.since || null;
  const runs = await api.get(`/jobs/${encodeURIComponent(job.id)}/runs`, { status: 'SUCCESS', size: 100 });
  const run = runs.hits.hits.find((r) => !r.until);
  return run ? run.started_at : null;
}

/**
 * The title a run dialog starts with: the job's for a new run; for "Run again" the earlier run's,
 * none when it had none (sent as no title, so the new run is named as the earlier one was).
 */
function runAgainTitle(job, from) {
  if (!from) return job.title;
  return from.title || '';
}

/** Whether a value (arguments, a schema's defaults) holds a reference to a secret anywhere. */
function refersToSecrets(v) {
  if (!v || typeof v !== 'object') return false;
  if (secretName(v) !== null) return true;
  return Object.values(v).some(refersToSecrets);
}

/**
 * "Configure and run" for an operator when the job type keeps its runs to the saved arguments:
 * a title and a queue, and the arguments shown as they will be used.
 */
function runWithSavedArgs(job, { from, queue, queueNote, defaults, keptBy, notInstalled }) {
  const title = input({ name: 'title', value: runAgainTitle(job, from), maxlength: 250 });
  const runBtn = button('Run now', { kind: 'primary', iconName: 'play', type: 'submit' });
  const cancel = button('Cancel', { kind: 'ghost' });
  const content = h('div', {},
    errorSummary(),
    field({ label: 'Title', control: title, field: 'title', hint: 'A name for this run, shown in the runs list.' }),
    describedAlsoBy(field({ label: 'Queue', control: queue, field: 'queue', hint: 'The queue this run waits in for a free slot.', extra: queueNote }), queue, queueNote),
    h('div', { class: 'notice', role: 'note' }, icon('lock'),
      h('span', {}, h('strong', {}, 'Saved arguments: '),
        `${keptBy}; only an admin may start one with others.`)),
    textBlock(referenceText(defaults, notInstalled && job.task), 'Arguments this run gets'));
  let busy = false;
  const dlg = openDialog({
    title: `Run “${job.title}”${from ? ' again' : ''}`, content, footer: [cancel, runBtn], wide: true,
    onSubmit: async () => {
      if (busy) return;
      busy = true;
      runBtn.disabled = true;
      try {
        await submitRun(dlg, job, { title: title.value.trim() || null, queue: queue.value });
      } finally {
        busy = false;
        runBtn.disabled = false;
      }
    },
  });
  cancel.addEventListener('click', () => dlg.dismiss());
}

/**
 * Starts a run of job (POST body) from the run dialog dlg: on success the dialog closes, a toast
 * says whether the run started or waits in its queue, and the run's page opens; a refusal
 * marks the dialog's fields.
 */
async function submitRun(dlg, job, body) {
  try {
    const run = await api.post(`/jobs/${job.id}/runs`, body);
    dlg.close();
    const name = run.title || job.title;
    let waits = `It starts when queue ${run.queue} gives it a slot.`;
    if (run.status === 'QUEUED') {
      // a paused queue gives none until it is resumed: said so rather than a slot promised
      const q = (await getQueues({ fresh: true }).catch(() => [])).find((x) => x.name === run.queue);
      if (q && q.paused) waits = `It starts once queue ${run.queue} is resumed: it is paused.`;
    }
    toast(run.status === 'QUEUED' ? `Run queued: ${name}. ${waits}` : `Run started: ${name}`);
    navigate(`/jobs/${job.id}/runs/${run.id}`);
  } catch (err) {
    if (err.status === 401) return;
    const first = applyErrors(dlg.dialog.querySelector('form'), err, { what: 'Could not start the run' });
    if (first) first.focus();
  }
}

/** What "Run again" took from the earlier run, and why its since is kept. */
function againNote(run, args, queueGone) {
  const since = args && 'since' in args
    ? (!args.since ? ' (since none: from the beginning)'
      : readInstant(String(args.since)).date ? ` (since ${sinceForInput(args.since)} UTC)` : ` (since ${JSON.stringify(args.since)}, as written)`)
    : '';
  return h('div', { class: 'notice again-note', role: 'note' }, icon('clock'), h('span', {},
    h('strong', {}, `From the run of ${fullTime(run.created)}: `),
    args
      ? `its title, queue and arguments, given as custom args exactly as it received them${since}, so the same window is processed again. To change an argument, empty the custom args and edit the fields, which hold the same values.`
      : 'its title and queue. It had no arguments.',
    queueGone ? ` Its queue ${run.queue} no longer exists: the job's default queue is chosen.` : ''));
}

// ---- Schedule --------------------------------------------------------------------------

const COMMON_ZONES = [
  'UTC', 'Europe/London', 'Europe/Dublin', 'Europe/Lisbon', 'Europe/Paris', 'Europe/Berlin', 'Europe/Zurich',
  'Europe/Amsterdam', 'Europe/Madrid', 'Europe/Rome', 'Europe/Vienna', 'Europe/Prague', 'Europe/Warsaw',
  'Europe/Stockholm', 'Europe/Helsinki', 'Europe/Athens', 'Europe/Istanbul', 'Europe/Moscow',
  'America/New_York', 'America/Chicago', 'America/Denver', 'America/Phoenix', 'America/Los_Angeles',
  'America/Anchorage', 'America/Toronto', 'America/Vancouver', 'America/Mexico_City', 'America/Bogota',
  'America/Lima', 'America/Santiago', 'America/Sao_Paulo', 'America/Argentina/Buenos_Aires',
  'Africa/Cairo', 'Africa/Lagos', 'Africa/Nairobi', 'Africa/Johannesburg', 'Asia/Dubai', 'Asia/Karachi',
  'Asia/Kolkata', 'Asia/Dhaka', 'Asia/Bangkok', 'Asia/Jakarta', 'Asia/Singapore', 'Asia/Hong_Kong',
  'Asia/Shanghai', 'Asia/Taipei', 'Asia/Seoul', 'Asia/Tokyo', 'Australia/Perth', 'Australia/Adelaide',
  'Australia/Brisbane', 'Australia/Sydney', 'Australia/Melbourne', 'Australia/Lord_Howe', 'Pacific/Auckland',
  'Pacific/Honolulu',
];

function zoneList() {
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return [...new Set([own, ...COMMON_ZONES].filter(Boolean))];
}

// what the server's refusals name without a field of the dialog: said as the dialog says it
const SCHEDULE_NAMES = { schedule: 'Schedule', active: 'Active' };

const INTERVAL_FIELDS = [['weeks', 'Weeks'], ['days', 'Days'], ['hours', 'Hours'], ['minutes', 'Minutes'], ['seconds', 'Seconds']];
const CRONTAB_FIELDS = [
  ['minute', 'Minute', '0-59'], ['hour', 'Hour', '0-23'], ['day_of_week', 'Day of week', '0-7 or sun-sat'],
  ['day_of_month', 'Day of month', '1-31'], ['month_of_year', 'Month of year', '1-12 or jan-dec'],
];

const localFmt = new Intl.DateTimeFormat(undefined, {
  weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

/** The wall time of a preview entry ("2026-03-29T03:00:00+02:00") as written there. */
function wallTime(local) {
  return local.replace('T', ' ').replace(/([+-]\d\d:\d\d|Z)$/, '');
}

/**
 * Whether two schedules fire at the same times, as the server decides whether a save keeps
 * next_run: an interval by its length alone (its time zone changes nothing), the others by
 * their fields and zone.
 */
function sameFiring(a, b) {
  if (!a || !b || a.type !== b.type) return false;
  if (a.type === 'interval') return intervalSeconds(a) === intervalSeconds(b);
  if ((a.timezone || 'UTC') !== (b.timezone || 'UTC')) return false;
  if ((a.jitter || '') !== (b.jitter || '')) return false;
  if (a.type === 'cron') return String(a.expression || '').trim() === String(b.expression || '').trim();
  const f = (x, k) => (x[k] === undefined || x[k] === null ? '*' : String(x[k]).trim());
  return CRONTAB_FIELDS.every(([k]) => f(a, k) === f(b, k));
}

/** Whether `built` says what `saved` says, in the form the dialog shows it: nothing to save. */
function sameSchedule(built, saved) {
  return sameFiring(built, saved) && (built.timezone || 'UTC') === (saved.timezone || 'UTC');
}

const UNIT_SHORT = { weeks: 'w', days: 'd', hours: 'h', minutes: 'min', seconds: 's', milliseconds: 'ms', microseconds: 'µs' };

/**
 * The interval fields the dialog shows for a saved interval: as saved, or, when it has
 * milliseconds or microseconds (which the dialog does not offer), the whole seconds it comes to
 * in the units offered (90000 ms → 1 min 30 s), with a note saying so.
 */
function intervalFieldsOf(s) {
  if (s.type !== 'interval') return { fields: {}, note: null };
  if (!s.milliseconds && !s.microseconds) return { fields: s, note: null };
  const secs = intervalSeconds(s);
  const raw = Object.entries(UNIT_SHORT).filter(([k]) => s[k]).map(([k, u]) => `${s[k]} ${u}`).join(' ');
  const exact = (Number(s.milliseconds || 0) * 1000 + Number(s.microseconds || 0)) % 1e6 === 0;
  return {
    fields: splitSeconds(secs),
    note: `Saved as ${raw}, shown here as ${exact ? 'the same length' : 'the whole seconds sked rounds it to'} in the units offered.`,
  };
}

/**
 * Keeps a failed save's errors shown in a dialog with a live preview: a preview asked for by a
 * change made before the save, ending after the save failed, would clear them, and the click
 * would seem to have done nothing. They go once the user changes something again.
 */
function saveErrorsKeeper(content) {
  let inputs = 0;
  let kept = -1;
  content.addEventListener('input', () => { inputs += 1; }, true);
  return {
    keep() { kept = inputs; },
    mayClear() { return inputs > kept; },
  };
}

/** The "Schedule" dialog: interval, crontab or cron expression, with a live preview. */
export function scheduleDialog(job, { onSaved } = {}) {
  const s = job.schedule || { type: 'interval' };
  // an active job keeps its next run when it is saved with the schedule it has
  const keepsNext = () => !!(job.active && job.schedule && job.next_run);
  const groupName = nextId('stype');
  const radios = {};
  const kinds = [['interval', 'Interval'], ['crontab', 'Crontab'], ['cron', 'Cron expression']];
  const typeSet = h('fieldset', { class: 'segmented', dataset: { field: 'schedule.type' } }, h('legend', {}, 'Schedule by'),
    kinds.map(([value, label]) => {
      const r = h('input', { type: 'radio', name: groupName, value, id: nextId('r'), checked: s.type === value });
      radios[value] = r;
      return h('label', { for: r.id, class: 'seg' }, r, h('span', {}, label));
    }),
    h('div', { class: 'field-error', role: 'alert' }));

  const num = (v) => input({ type: 'number', min: 0, step: 1, inputmode: 'numeric', value: v ?? '' });
  const intervalInputs = {};
  const shown = intervalFieldsOf(s);
  const intervalPanel = h('div', {}, h('div', { class: 'grid-fields' }, INTERVAL_FIELDS.map(([k, label]) => {
    intervalInputs[k] = num(shown.fields[k]);
    return field({ label, control: intervalInputs[k], field: `schedule.${k}` });
  })), shown.note ? h('p', { class: 'hint interval-note' }, shown.note) : null);
  const crontabInputs = {};
  const crontabPanel = h('div', { class: 'grid-fields' }, CRONTAB_FIELDS.map(([k, label, hint]) => {
    crontabInputs[k] = input({ placeholder: '*', value: s.type === 'crontab' && s[k] !== undefined && s[k] !== null ? String(s[k]) : '' });
    return field({ label, control: crontabInputs[k], field: `schedule.${k}`, hint });
  }));
  const expr = input({ placeholder: '0 3 * * 1-5', value: s.type === 'cron' ? s.expression : '', class: 'code' });
  const cronPanel = h('div', {}, field({
    label: 'Expression', control: expr, field: 'schedule.expression',
    hint: 'Five fields: minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly.',
  }));

  const listId = nextId('zones');
  const tz = input({ list: listId, value: s.timezone || 'UTC', autocomplete: 'off', spellcheck: 'false' });
  const tzField = field({
    label: 'Time zone', control: tz, field: 'schedule.timezone', hint: 'An IANA name such as Europe/Zurich. Crontab and cron fields are wall times there.',
    extra: h('datalist', { id: listId }, zoneList().map((z) => h('option', { value: z }))),
  });

  // a place of its own in a window after each time: jobs of one crontab do not all start at once
  const jitter = input({ name: 'jitter', placeholder: '10m', value: s.type !== 'interval' && s.jitter ? s.jitter : '' });
  const jitterField = field({
    label: 'Jitter', control: jitter, field: 'schedule.jitter',
    hint: 'Optional: fire up to this much later (2s to 1d), at a place of this job\'s own in that window, the same every time, so that jobs with one schedule do not all start at once.',
  });

  const activeBox = h('input', { type: 'checkbox', id: nextId('act') });
  const activeNotice = job.active
    ? h('div', { class: 'notice', role: 'note' }, icon('clock'), h('span', {}, 'The job must be active to run on its schedule. It is active.'))
    : h('div', { class: 'notice notice-warn', role: 'note' }, icon('alert'), h('span', {},
      h('strong', {}, 'The job must be active to run on its schedule. '), 'This job is inactive: it will not fire until it is activated.',
      h('label', { class: 'inline-check', for: activeBox.id }, activeBox, ' Activate the job when saving')));

  const previewBody = h('div', { class: 'preview-body' });
  const previewStatus = h('p', { class: 'hint', role: 'status' });
  const preview = h('section', { class: 'preview', 'aria-label': 'Preview of the next fire times' },
    h('h3', {}, 'Next 5 fire times'), previewStatus, previewBody);

  const panels = { interval: intervalPanel, crontab: crontabPanel, cron: cronPanel };
  const kind = () => Object.keys(radios).find((k) => radios[k].checked) || 'interval';
  function showPanel() {
    for (const [k, p] of Object.entries(panels)) p.hidden = k !== kind();
    jitterField.hidden = kind() === 'interval';
  }

  function build() {
    const k = kind();
    const out = { type: k };
    const errs = [];
    if (k === 'interval') {
      for (const [f] of INTERVAL_FIELDS) {
        const el = intervalInputs[f];
        if (el.validity.badInput) errs.push({ field: `schedule.${f}`, messages: ['must be a non-negative whole number'] });
        else if (el.value !== '') out[f] = Number(el.value);
      }
      // all zero: marked like any other interval the server refuses (it names no field for it)
      const given = INTERVAL_FIELDS.filter(([f]) => f in out);
      if (!errs.length && given.length && intervalSeconds(out) === 0) {
        for (const [f] of given) errs.push({ field: `schedule.${f}`, messages: ['An interval must be at least 1 second long'] });
      }
    } else if (k === 'crontab') {
      for (const [f] of CRONTAB_FIELDS) if (crontabInputs[f].value.trim() !== '') out[f] = crontabInputs[f].value.trim();
    } else {
      out.expression = expr.value.trim();
    }
    // an interval ignores its zone: one is kept only when it says something (not UTC)
    const zone = tz.value.trim();
    if (zone && !(k === 'interval' && zone === 'UTC')) out.timezone = zone;
    if (k !== 'interval' && jitter.value.trim()) out.jitter = jitter.value.trim();
    return { schedule: out, errors: errs };
  }

  let controller = null;
  async function runPreview() {
    if (controller) controller.abort();
    const { schedule, errors } = build();
    const formEl = dlg.dialog.querySelector('form');
    if (errors.length) {
      applyErrors(formEl, { message: 'The schedule is not valid.', errors });
      previewBody.replaceChildren();
      previewStatus.textContent = 'Fix the schedule to see when it fires.';
      return;
    }
    // Nothing entered yet: say what to do rather than show the server's refusal.
    const blank = (schedule.type === 'interval' && !INTERVAL_FIELDS.some(([f]) => f in schedule))
      || (schedule.type === 'cron' && !schedule.expression);
    if (blank) {
      if (saved.mayClear()) clearErrors(formEl);
      previewBody.replaceChildren();
      previewStatus.textContent = schedule.type === 'cron' ? 'Enter an expression to see when it fires.' : 'Enter an interval to see when it fires.';
      return;
    }
    controller = new AbortController();
    previewStatus.textContent = 'Computing…';
    // Saved as it is, the schedule keeps its next run: an interval's times go on from there
    // (the preview's first time of an interval is `from`); otherwise an interval fires at once.
    const kept = keepsNext() && sameFiring(schedule, job.schedule);
    const request = { schedule, count: 5, job_id: job.id };
    if (kept && schedule.type === 'interval') request.from = job.next_run;
    try {
      const r = await api.post('/schedules/preview', request, { signal: controller.signal });
      if (saved.mayClear()) clearErrors(formEl);
      const start = kept ? `Unchanged: saving keeps the next run, ${fullTime(job.next_run)}. `
        : schedule.type === 'interval'
          ? `An interval fires at once ${job.active || activeBox.checked ? 'when saved' : 'when the job is activated'}, then every interval. `
          : '';
      previewStatus.textContent = start + (schedule.type === 'interval'
        ? 'It counts elapsed time, so daylight saving does not move it.'
        : r.interval_like
          ? `Repeats within the hour in ${r.timezone}: wall times that daylight saving skips are skipped, repeated ones fire in both passes.`
          : `Fixed wall times in ${r.timezone}: a time that daylight saving skips fires at the end of the gap, a repeated one fires once.`)
        + (r.jitter_offset ? ` This job fires ${r.jitter_offset} after each of the schedule's times (its place within the jitter).` : '');
      // "Your time" only when the browser's zone is another than the schedule's.
      const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const isUtc = (z) => z === 'UTC' || z === 'Etc/UTC';
      // a schedule in UTC needs no second UTC column, nor a browser in UTC a column of its own
      const utc = !isUtc(r.timezone);
      const mine = own !== r.timezone && !isUtc(own);
      // focusable, so that a table wider than a narrow screen scrolls from the keyboard too
      put(previewBody, h('div', { class: 'table-wrap scrolls', tabindex: '0', role: 'region', 'aria-label': 'Next fire times' }, h('table', { class: 'table compact preview-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, `Local time (${r.timezone})`),
          utc ? h('th', { scope: 'col' }, 'UTC') : null, mine ? h('th', { scope: 'col' }, 'Your time') : null, h('th', { scope: 'col' }, 'Daylight saving'))),
        h('tbody', {}, r.times.map((t, i) => h('tr', {},
          h('td', {}, String(i + 1)),
          h('td', { class: 'nowrap' }, `${wallTime(t.local)} ${t.abbreviation || t.offset}`),
          utc ? h('td', { class: 'nowrap' }, t.utc.replace('T', ' ').replace('Z', '')) : null,
          mine ? h('td', { class: 'nowrap' }, localFmt.format(parseTime(t.utc))) : null,
          h('td', {}, t.note ? h('span', { class: 'dst-note' }, icon('alert'), t.note) : (t.dst ? 'in effect' : '—'))))))));
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401) return;
      previewBody.replaceChildren();
      const first = (err.errors || []).find((e) => e.messages && e.messages.length);
      previewStatus.textContent = `This schedule cannot be previewed: ${first ? first.messages[0] : err.message}.`;
      applyErrors(formEl, err, { names: SCHEDULE_NAMES, what: 'Could not preview the schedule' });
    }
  }
  const schedulePreview = debounce(runPreview, 300);

  const summary = errorSummary();
  const save = button('Save', { kind: 'primary', iconName: 'check', type: 'submit' });
  const cancel = button('Cancel', { kind: 'ghost' });
  const remove = job.schedule ? button('Remove schedule', { kind: 'danger', iconName: 'trash' }) : null;

  const nextText = !job.schedule ? null
    : !job.active ? 'The job is inactive, so it has no next run.'
      : job.next_run ? `Next run: ${fullTime(job.next_run)} (${relativeTime(job.next_run)}).` : null;
  const content = h('div', { class: 'schedule-form' },
    h('p', { class: 'hint current-schedule' }, `Current schedule: ${describeSchedule(job.schedule)}.`, nextText ? ` ${nextText}` : null),
    summary, typeSet, intervalPanel, crontabPanel, cronPanel, tzField, jitterField, activeNotice, preview);
  const saved = saveErrorsKeeper(content);
  showPanel();

  async function patch(body, done) {
    const formEl = dlg.dialog.querySelector('form');
    save.disabled = true;
    if (remove) remove.disabled = true;
    try {
      const updated = await api.patch(`/jobs/${job.id}`, body);
      dlg.close();
      done(updated);
      if (onSaved) onSaved(updated);
    } catch (err) {
      if (err.status === 401) return;
      saved.keep();
      const f = applyErrors(formEl, err, { names: SCHEDULE_NAMES, what: body.schedule === null ? 'Could not remove the schedule' : 'Could not save the schedule' });
      if (f) f.focus();
    } finally {
      save.disabled = false;
      if (remove) remove.disabled = false;
    }
  }

  const dlg = openDialog({
    title: `Schedule “${job.title}”`, content, wide: true, footer: [remove, h('span', { class: 'spacer' }), cancel, save],
    onClose: () => {
      schedulePreview.cancel();
      if (controller) controller.abort();
    },
    onSubmit: () => {
      const { schedule, errors } = build();
      if (errors.length) {
        applyErrors(dlg.dialog.querySelector('form'), { message: 'The schedule is not valid.', errors });
        return;
      }
      // The schedule as it was is not sent: the job (its audit trail, its next run) stays as it is.
      const body = {};
      if (!job.schedule || !sameSchedule(schedule, job.schedule)) body.schedule = schedule;
      if (!job.active && activeBox.checked) body.active = true;
      if (!Object.keys(body).length) {
        dlg.close();
        toast('Nothing to save: the schedule is as it was.');
        return;
      }
      patch(body, (j) => toast(j.next_run ? `Schedule saved. Next run ${fullTime(j.next_run)}.` : 'Schedule saved. The job is inactive, so it will not fire.'));
    },
  });
  cancel.addEventListener('click', () => dlg.dismiss());
  if (remove) {
    remove.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Remove the schedule of “${job.title}”?`,
        message: `The job no longer runs on a schedule (${describeSchedule(job.schedule).replace(/^./, (c) => c.toLowerCase())}).`
          + ' It can still be run by hand, and scheduled again.',
        confirmLabel: 'Remove schedule',
      });
      if (ok) patch({ schedule: null }, () => toast('Schedule removed.'));
    });
  }
  content.addEventListener('input', schedulePreview);
  content.addEventListener('change', (e) => {
    if (e.target.type === 'radio') showPanel();
    schedulePreview();
  });
  radios[kind()].focus();
  runPreview();
}

// ---- confirmations ---------------------------------------------------------------------

// Whether activating this inactive job may go on: a saved interval starts afresh when its job is
// activated, so it fires at once (docs/cron.md); that is said first. True at once otherwise.
export function intervalFiresNow(job) {
  return !job.active && job.schedule && job.schedule.type === 'interval';
}

export async function confirmActivation(job) {
  if (!intervalFiresNow(job)) return true;
  return confirmDialog({
    title: `Activate “${job.title}”?`,
    message: `Its schedule is an interval (${describeSchedule(job.schedule).replace(/^./, (c) => c.toLowerCase())}), which fires at once when the job is activated: a run starts now, then one every interval.`,
    confirmLabel: 'Activate and run now', danger: false,
  });
}

export async function deleteJob(job, { onDeleted } = {}) {
  const ok = await confirmDialog({
    title: `Delete “${job.title}”?`,
    message: 'The job is deleted with all its runs and their logs; runs executing now are stopped. This cannot be undone.',
    confirmLabel: 'Delete',
  });
  if (!ok) return;
  try {
    await api.del(`/jobs/${job.id}`);
    toast(`Deleted “${job.title}”.`);
    if (onDeleted) onDeleted();
  } catch (err) {
    if (err.status !== 401) toast(errorText(err, `Could not delete “${job.title}”`), 'error');
  }
}

/** "Stop runs…" of a job: its queued runs cancelled, its running ones asked to end. */
export async function stopJobRuns(job, { onStopped } = {}) {
  let queued;
  let running;
  try {
    [queued, running] = await Promise.all(['QUEUED', 'RUNNING'].map((status) => api.get(`/jobs/${job.id}/runs`, { status, size: 1 })
      .then((r) => r.hits.total)));
  } catch (err) {
    if (err.status !== 401) toast(errorText(err, `Could not read the runs of “${job.title}”`), 'error');
    return;
  }
  if (!queued && !running) {
    toast(`No run of ${job.title} is queued or running.`);
    return;
  }
  const parts = [queued ? `${plural(queued, 'queued runs')} ${queued === 1 ? 'is' : 'are'} cancelled before ${queued === 1 ? 'it starts' : 'they start'}` : null,
    running ? `${plural(running, 'running runs')} ${running === 1 ? 'is' : 'are'} asked to end (SIGTERM, then SIGKILL after the stop grace)` : null];
  const ok = await confirmDialog({
    title: `Stop the runs of “${job.title}”?`,
    message: `${parts.filter(Boolean).join(', and ')}. What they have not finished stays undone.`.replace(/^./, (c) => c.toUpperCase()),
    confirmLabel: 'Stop runs', iconName: 'stop',
  });
  if (!ok) return;
  let stopped = 0;
  try {
    // a request stops at most 1000 runs: again while more are left
    for (let more = true; more;) {
      const r = await api.post(`/jobs/${job.id}/actions/stop`, {});
      stopped += r.stopped;
      more = r.more && r.stopped > 0;
    }
    toast(`Stopped ${plural(stopped, 'runs')} of ${job.title}.`);
    if (onStopped) onStopped();
  } catch (err) {
    if (err.status !== 401) toast(errorText(err, `Could not stop the runs of “${job.title}”`), 'error');
  }
}

export async function stopRun(run, { onStopped } = {}) {
  const queued = run.status === 'QUEUED';
  const ok = await confirmDialog({
    title: queued ? 'Stop this queued run?' : 'Stop this run?',
    message: queued
      ? 'The run is cancelled before it starts.'
      : 'The task is asked to end (SIGTERM, then SIGKILL after its stop grace); what it has not finished stays undone.',
    confirmLabel: 'Stop run', iconName: 'stop',
  });
  if (!ok) return;
  try {
    const r = await api.post(`/jobs/${run.job_id}/runs/${run.id}/actions/stop`);
    toast(r.status === 'CANCELLED' ? 'The run was cancelled before it started.' : 'Stop requested; the task is asked to end.');
    if (onStopped) onStopped(r);
  } catch (err) {
    if (err.status !== 401) toast(errorText(err, 'Could not stop the run'), 'error');
  }
}

export async function deleteRun(run, { onDeleted } = {}) {
  const ok = await confirmDialog({
    title: 'Delete this run?', message: 'The run and its log are deleted. This cannot be undone.', confirmLabel: 'Delete',
  });
  if (!ok) return;
  try {
    await api.del(`/jobs/${run.job_id}/runs/${run.id}`);
    toast('Run deleted.');
    if (onDeleted) onDeleted();
  } catch (err) {
    if (err.status !== 401) toast(errorText(err, 'Could not delete the run'), 'error');
  }
}

// ---- Backfill ---------------------------------------------------------------------------

/** "2026-03-01 00:00:00" of an API instant (in UTC). */
function windowTime(iso) {
  return utcText(parseTime(iso)).replace(/ UTC$/, '');
}

/**
 * The "Backfill" dialog: a past range cut into windows of a step, one run each, each with the
 * job's saved arguments and its window as since and until. The windows are shown as they are
 * typed (the server's dry run), and "Start N runs" starts them.
 */
export async function backfill(job) {
  let queue;
  try {
    queue = await queueSelect(job.default_queue);
  } catch (err) {
    if (err.status !== 401) toast(errorText(err, 'Could not open the backfill dialog'), 'error');
    return;
  }
  const queueNote = queue.note;
  queue = queue.select;
  const from = input({ name: 'from', placeholder: '2026-03-01 00:00' });
  const to = input({ name: 'to', placeholder: 'now' });
  const step = input({ name: 'step', value: '1d' });
  const title = input({ name: 'title', maxlength: 250 });
  const previewStatus = h('p', { class: 'hint', role: 'status' }, 'Enter where the range starts to see its windows.');
  const previewBody = h('div', { class: 'preview-body' });
  const startBtn = button('Start runs', { kind: 'primary', iconName: 'play', type: 'submit', disabled: true });
  const cancel = button('Cancel', { kind: 'ghost' });
  const request = () => {
    const b = { from: from.value.trim(), step: step.value.trim(), queue: queue.value };
    if (to.value.trim()) b.to = to.value.trim();
    if (title.value.trim()) b.title = title.value.trim();
    return b;
  };

  let dlg = null;
  let controller = null;
  let windows = 0;
  async function preview() {
    if (controller) controller.abort();
    const formEl = dlg.dialog.querySelector('form');
    windows = 0;
    startBtn.disabled = true;
    if (!from.value.trim() || !step.value.trim()) {
      if (saved.mayClear()) clearErrors(formEl);
      previewBody.replaceChildren();
      previewStatus.textContent = 'Enter where the range starts and a step to see its windows.';
      return;
    }
    controller = new AbortController();
    previewStatus.textContent = 'Computing…';
    try {
      const r = await api.post(`/jobs/${job.id}/actions/backfill?dry_run=true`, request(), { signal: controller.signal });
      if (saved.mayClear()) clearErrors(formEl);
      windows = r.total;
      startBtn.disabled = false;
      put(startBtn.querySelector('span'), `Start ${r.total} run${r.total === 1 ? '' : 's'}`);
      previewStatus.textContent = `${r.total} window${r.total === 1 ? '' : 's'} of ${r.step} from ${windowTime(r.from)} to ${windowTime(r.to)} UTC, one run each on queue ${r.queue}, as its slots allow.`;
      const shown = r.runs.length > 12 ? [...r.runs.slice(0, 10), null, r.runs[r.runs.length - 1]] : r.runs;
      put(previewBody, h('div', { class: 'table-wrap scrolls', tabindex: '0', role: 'region', 'aria-label': 'Windows' },
        h('table', { class: 'table compact preview-table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, 'Since (UTC)'), h('th', { scope: 'col' }, 'Until (UTC)'))),
          h('tbody', {}, shown.map((w, i) => (w === null
            ? h('tr', {}, h('td', { colspan: '3', class: 'muted' }, `… ${r.runs.length - 11} more`))
            : h('tr', {}, h('td', {}, String(i === shown.length - 1 && r.runs.length > 12 ? r.runs.length : i + 1)),
              h('td', { class: 'nowrap' }, windowTime(w.since)), h('td', { class: 'nowrap' }, windowTime(w.until)))))))));
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401) return;
      previewBody.replaceChildren();
      const first = (err.errors || []).find((e) => e.messages && e.messages.length);
      previewStatus.textContent = `No windows: ${first ? `${first.field}: ${first.messages[0]}` : err.message}.`;
      applyErrors(formEl, err, { what: 'Could not work out the windows' });
    }
  }
  const later = debounce(preview, 300);
  for (const c of [from, to, step, title]) c.addEventListener('input', later);
  queue.addEventListener('change', later);

  const content = h('div', { class: 'backfill-form' },
    errorSummary(),
    h('p', { class: 'hint' }, 'Runs the job once per window of a past range, each with its saved arguments, since at the window\'s start and until at its end. These runs leave the job\'s since where its other runs put it, so its next regular run goes on as before.'),
    field({ label: 'From', control: from, field: 'from', required: true, hint: 'Where the first window starts: 2026-03-01 or 2026-03-01 06:00, in UTC unless an offset is given (+02:00).' }),
    field({ label: 'To', control: to, field: 'to', hint: 'Where the last window ends; empty: now.' }),
    field({ label: 'Step', control: step, field: 'step', required: true, hint: 'Each window\'s length: 1d, 6h, 1w, 30m. At most 1000 windows.' }),
    describedAlsoBy(field({ label: 'Queue', control: queue, field: 'queue', hint: 'Where the runs wait for free slots: a queue of one slot runs the windows one after another.', extra: queueNote }), queue, queueNote),
    field({ label: 'Title', control: title, field: 'title', hint: 'One title for every run; empty: each run is titled by its window.' }),
    h('section', { class: 'preview', 'aria-label': 'Windows of the backfill' }, h('h3', {}, 'Windows'), previewStatus, previewBody));
  const saved = saveErrorsKeeper(content);

  let busy = false;
  dlg = openDialog({
    title: `Backfill “${job.title}”`, content, footer: [cancel, startBtn], wide: true,
    onSubmit: async () => {
      if (busy || !windows) return;
      busy = true;
      startBtn.disabled = true;
      try {
        const r = await api.post(`/jobs/${job.id}/actions/backfill`, request());
        dlg.close();
        toast(`Started ${r.total} run${r.total === 1 ? '' : 's'} of ${job.title}, one per window.`);
        // the job's page drawn anew shows its runs from the first page; the keyboard goes on
        // from Backfill… (or the heading) there, not from the top of the page
        if (await navigate(`/jobs/${job.id}`)) focusBack(dlg.opener);
      } catch (err) {
        if (err.status === 401) return;
        saved.keep();
        const first = applyErrors(dlg.dialog.querySelector('form'), err, { what: 'Could not start the backfill' });
        if (first) first.focus();
        startBtn.disabled = false;
      } finally {
        busy = false;
      }
    },
  });
  cancel.addEventListener('click', () => dlg.dismiss());
}
