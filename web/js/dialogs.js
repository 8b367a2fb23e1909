// The job actions that open a dialog: "Configure and run…", "Schedule…", and the
// confirmations of deleting a job or a run. Used by the jobs list and the job page alike.

import { api } from './api.js';
import { h, icon, debounce, fullTime, parseTime, describeSchedule, nextId, put } from './dom.js';
import {
  button, field, input, select, openDialog, confirmDialog, errorSummary, applyErrors, clearErrors, toast, textBlock,
} from './components.js';
import { argsForm, jsonEditor, sinceForInput } from './argsform.js';
import { getQueues, getTaskArgs } from './catalog.js';
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

/** The queue picker, on `value`, else on `fallback` (a run's queue that is no longer configured). */
async function queueSelect(value, fallback = value) {
  const queues = await getQueues();
  const s = select(queues.map((q) => [q.name,
    `${q.title || q.name} (${typeof q.concurrency === 'number' ? `${q.concurrency} at a time` : 'Celery workers'})`]), { value });
  if (s.value !== value) s.value = fallback;
  return s;
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
  try {
    // A job whose type is no longer loaded has no schema (404): its runs will be refused, and
    // the server's answer says why.
    [schema, queue] = await Promise.all([getTaskArgs(job.task).catch((e) => (e.status === 404 ? {} : Promise.reject(e))),
      queueSelect(from ? from.queue : job.default_queue, job.default_queue)]);
  } catch (err) {
    if (err.status !== 401) toast(`Cannot open the dialog: ${err.message}`, 'error');
    return;
  }
  const defaults = parseDefaultArgs(job);
  const hasSavedCustom = job.custom_args && Object.keys(job.custom_args).length > 0;
  const runArgs = from && from.args && typeof from.args === 'object' && !Array.isArray(from.args) && Object.keys(from.args).length
    ? from.args : null;
  const customStart = from ? runArgs || '' : hasSavedCustom ? job.custom_args : '';

  const title = input({ name: 'title', value: from ? from.title || job.title : job.title, maxlength: 250 });
  // What "Since" resolves to when left empty: default_args is the server's resolution of a
  // run started now without arguments (the start of the last successful run, or null).
  const sinceNote = h('div', { class: 'will-use' });
  let sinceInput = null;
  // the field takes UTC: the value in the browser's zone and as it would be typed
  const bothTimes = (iso) => `${fullTime(iso)} (${parseTime(iso).toISOString().slice(0, 19).replace('T', ' ')} UTC)`;
  const sinceText = (v) => (v === null || v === undefined || v === '' ? 'none (the task starts from the beginning)'
    : parseTime(v) ? bothTimes(v) : String(v));
  // custom args win over the fields, the since field too
  const customNow = () => {
    const v = customEd ? customEd.value : (customStart || undefined);
    return v && Object.keys(v).length ? v : null;
  };
  let customEd = null;
  function updateSinceNote() {
    const typed = sinceInput && sinceInput.value.trim();
    const custom = customNow();
    let text;
    if (custom && from && 'since' in custom) text = `${sinceText(custom.since)}, from the custom args below.`;
    else if (custom) text = 'The custom args below are used as they are, so no since value applies.';
    else if (typed) text = `${typed} (UTC), as entered.`;
    else if (defaults && defaults.since && savedArgs(job).since) text = `${bothTimes(defaults.since)}, saved with the job.`;
    else if (defaults && defaults.since) text = `${bothTimes(defaults.since)} — the start of the last successful run.`;
    else text = 'None: this job has no successful run yet, so the task starts from the beginning.';
    put(sinceNote, h('strong', {}, 'Value that will be used: '), text);
  }

  let runBtn;
  const editorsValid = () => [customEd, ...form.editors].every((e) => !e || e.valid);
  const refresh = () => {
    if (runBtn) runBtn.disabled = !editorsValid();
  };
  const form = argsForm(schema, runArgs || savedArgs(job), {
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
    placeholder: '{"since": "2026-01-01 00:00", "limit": 10}',
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
    field({ label: 'Queue', control: queue, field: 'queue', hint: 'The queue this run waits in for a free slot.' }),
    h('fieldset', { class: 'box', dataset: { field: 'args' } }, h('legend', {}, 'Args'), form.el, h('div', { class: 'field-error', role: 'alert' })),
    h('details', { class: 'box advanced', open: !!customStart },
      h('summary', {}, 'Advanced configuration'),
      h('p', { class: 'hint' }, 'Reference configuration: the arguments a run started now with the saved settings would get.'),
      textBlock(defaults ? JSON.stringify(defaults, null, 2) : 'The saved arguments no longer validate against the job type.',
        'Reference configuration'),
      h('div', { class: 'notice notice-warn', role: 'note' }, icon('alert'),
        h('span', {}, h('strong', {}, 'Custom args override everything above. '),
          'When given, the task receives exactly this object: the fields above, their defaults and the since value are not used, and nothing is validated.')),
      customEd.el));
  refresh();

  let busy = false;
  const dlg = openDialog({
    title: from ? `Run “${job.title}” again` : `Configure and run “${job.title}”`, content, footer: [cancel, runBtn], wide: true,
    onSubmit: async () => {
      if (busy || !editorsValid()) return;
      const read = form.read();
      const formEl = dlg.dialog.querySelector('form');
      if (read.errors.length) {
        (applyErrors(formEl, { message: 'Some arguments are not valid.', errors: read.errors }) || runBtn).focus();
        return;
      }
      const body = { title: title.value.trim() || null, queue: queue.value, args: read.value };
      if (customEd.value && Object.keys(customEd.value).length) body.custom_args = customEd.value;
      busy = true;
      runBtn.disabled = true;
      try {
        const run = await api.post(`/jobs/${job.id}/runs`, body);
        dlg.close();
        toast(`Run started: ${run.title || job.title}`);
        navigate(`/jobs/${job.id}/runs/${run.id}`);
      } catch (err) {
        if (err.status === 401) return;
        const first = applyErrors(formEl, err);
        if (first) first.focus();
      } finally {
        busy = false;
        refresh();
      }
    },
  });
  cancel.addEventListener('click', () => dlg.close());
}

/** What "Run again" took from the earlier run, and why its since is kept. */
function againNote(run, args, queueGone) {
  const since = args && 'since' in args
    ? (args.since ? ` (since ${sinceForInput(args.since)} UTC)` : ' (since none: from the beginning)') : '';
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

/** The "Schedule" dialog: interval, crontab or cron expression, with a live preview. */
export function scheduleDialog(job, { onSaved } = {}) {
  const s = job.schedule || { type: 'interval' };
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
  const intervalPanel = h('div', { class: 'grid-fields' }, INTERVAL_FIELDS.map(([k, label]) => {
    intervalInputs[k] = num(s.type === 'interval' ? s[k] : '');
    return field({ label, control: intervalInputs[k], field: `schedule.${k}` });
  }));
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
    } else if (k === 'crontab') {
      for (const [f] of CRONTAB_FIELDS) if (crontabInputs[f].value.trim() !== '') out[f] = crontabInputs[f].value.trim();
    } else {
      out.expression = expr.value.trim();
    }
    if (tz.value.trim()) out.timezone = tz.value.trim();
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
      clearErrors(formEl);
      previewBody.replaceChildren();
      previewStatus.textContent = schedule.type === 'cron' ? 'Enter an expression to see when it fires.' : 'Enter an interval to see when it fires.';
      return;
    }
    controller = new AbortController();
    previewStatus.textContent = 'Computing…';
    try {
      const r = await api.post('/schedules/preview', { schedule, count: 5 }, { signal: controller.signal });
      clearErrors(formEl);
      previewStatus.textContent = schedule.type === 'interval'
        ? 'An interval fires at once when saved, then every interval; it counts elapsed time, so daylight saving does not move it.'
        : r.interval_like
          ? `Repeats within the hour in ${r.timezone}: wall times that daylight saving skips are skipped, repeated ones fire in both passes.`
          : `Fixed wall times in ${r.timezone}: a time that daylight saving skips fires at the end of the gap, a repeated one fires once.`;
      // "Your time" only when the browser's zone is another than the schedule's.
      const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const mine = own !== r.timezone && !(own === 'Etc/UTC' && r.timezone === 'UTC');
      put(previewBody, h('div', { class: 'table-wrap scrolls' }, h('table', { class: 'table compact preview-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '#'), h('th', { scope: 'col' }, `Local time (${r.timezone})`),
          h('th', { scope: 'col' }, 'UTC'), mine ? h('th', { scope: 'col' }, 'Your time') : null, h('th', { scope: 'col' }, 'Daylight saving'))),
        h('tbody', {}, r.times.map((t, i) => h('tr', {},
          h('td', {}, String(i + 1)),
          h('td', { class: 'nowrap' }, `${wallTime(t.local)} ${t.abbreviation || t.offset}`),
          h('td', { class: 'nowrap' }, t.utc.replace('T', ' ').replace('Z', '')),
          mine ? h('td', { class: 'nowrap' }, localFmt.format(parseTime(t.utc))) : null,
          h('td', {}, t.note ? h('span', { class: 'dst-note' }, icon('alert'), t.note) : (t.dst ? 'summer time' : '—'))))))));
    } catch (err) {
      if (err.name === 'AbortError' || err.status === 401) return;
      previewBody.replaceChildren();
      previewStatus.textContent = 'This schedule cannot be previewed:';
      applyErrors(formEl, err);
    }
  }
  const schedulePreview = debounce(runPreview, 300);

  const summary = errorSummary();
  const save = button('Save', { kind: 'primary', iconName: 'check', type: 'submit' });
  const cancel = button('Cancel', { kind: 'ghost' });
  const remove = job.schedule ? button('Remove schedule', { kind: 'danger', iconName: 'trash' }) : null;

  const content = h('div', { class: 'schedule-form' },
    h('p', { class: 'hint' }, `Current schedule: ${describeSchedule(job.schedule)}.`),
    summary, typeSet, intervalPanel, crontabPanel, cronPanel, tzField, activeNotice, preview);
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
      const f = applyErrors(formEl, err);
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
      const body = { schedule };
      if (!job.active && activeBox.checked) body.active = true;
      patch(body, (j) => toast(j.next_run ? `Schedule saved. Next run ${fullTime(j.next_run)}.` : 'Schedule saved. The job is inactive, so it will not fire.'));
    },
  });
  cancel.addEventListener('click', () => dlg.close());
  if (remove) remove.addEventListener('click', () => patch({ schedule: null }, () => toast('Schedule removed.')));
  content.addEventListener('input', schedulePreview);
  content.addEventListener('change', (e) => {
    if (e.target.type === 'radio') showPanel();
    schedulePreview();
  });
  radios[kind()].focus();
  runPreview();
}

// ---- confirmations ---------------------------------------------------------------------

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
    if (err.status !== 401) toast(`Could not delete: ${err.message}`, 'error');
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
    if (err.status !== 401) toast(`Could not stop the run: ${err.message}`, 'error');
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
    if (err.status !== 401) toast(`Could not delete the run: ${err.message}`, 'error');
  }
}
