// A run, laid out for whoever opens it to see how it went: its status and key facts in a
// line or two, why it failed (its message) right above the log, the log itself, then every
// fact, its arguments and its output (beside the log on wide screens, below it otherwise).
// The run's status and progress events of the log stream keep all of it current.

import { api } from '../api.js';
import { h, icon, timeEl, statusBadge, durationEl, personName, isActive, fullTime, parseTime, put, shortId } from '../dom.js';
import { button, pageHeader, jsonBlock, textBlock, setBanner } from '../components.js';
import { navigate, onLeave, isCurrent } from '../router.js';
import { can } from '../session.js';
import { stopRun, deleteRun, configureAndRun } from '../dialogs.js';
import { createLogView } from '../logview.js';
import { runLabel } from '../runs.js';

const TERMINAL = ['SUCCESS', 'PARTIAL_SUCCESS', 'FAILED', 'CANCELLED', 'WARNING'];

function fact(label, value) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value ?? h('span', { class: 'muted' }, '—')));
}

function progressEl(run) {
  const p = run.progress;
  if (!p || typeof p.done !== 'number') return null;
  const total = typeof p.total === 'number' && p.total > 0 ? p.total : null;
  const pct = total ? Math.min(100, Math.round((p.done / total) * 100)) : null;
  // a run that ended keeps where it got to, no longer in the colour of work under way
  const ended = !isActive(run.status);
  const text = total ? `${p.done.toLocaleString()} of ${total.toLocaleString()} (${pct} %)` : `${p.done.toLocaleString()} done`;
  return h('div', { class: `progress-wrap${ended ? ' progress-ended' : ''}` },
    h('progress', { max: total || undefined, value: total ? p.done : undefined, 'aria-label': 'Progress' }),
    h('span', { class: 'progress-text' }, ended && run.status !== 'SUCCESS' ? `${text} when it ended` : text));
}

// How the run came to be: its trigger, and for a retry or a chained run the run it follows
// (a chained run's parent is another job's, found through /api/runs).
function triggerEl(run, jobId) {
  if (run.trigger === 'scheduled' && run.scheduled_for) return `scheduled for ${fullTime(run.scheduled_for)}`;
  if (!run.parent_run_id) return run.trigger;
  const parent = run.parent_run_id;
  if (run.trigger !== 'chained') {
    return h('span', {}, `${run.trigger}, after run `, h('a', { href: `/jobs/${jobId}/runs/${parent}` }, h('code', {}, shortId(parent))));
  }
  const el = h('span', {}, 'chained, after run ', h('code', {}, shortId(parent)), ' succeeded');
  api.get(`/runs?q=${encodeURIComponent(parent)}&size=1`).then((r) => {
    const p = r.hits.hits.find((x) => x.id === parent);
    if (!p) return; /* deleted since: the id says enough */
    put(el, 'chained, after ', h('a', { href: `/jobs/${p.job_id}/runs/${p.id}` },
      `${p.job_title || 'a run'} (${shortId(p.id)})`), ' succeeded');
  }).catch(() => {});
  return el;
}

export async function runPage(el, { params, token }) {
  const { job: jobId, run: runId } = params;
  // the ids as segments of the API's paths: what the address held, decoded, may be anything
  const runPath = `/jobs/${encodeURIComponent(jobId)}/runs/${encodeURIComponent(runId)}`;
  const [first, job] = await Promise.all([
    api.get(runPath).catch((err) => {
      if (err.status === 404) return null;
      throw err;
    }),
    api.get(`/jobs/${encodeURIComponent(jobId)}`).catch(() => null),
  ]);
  if (!isCurrent(token)) return;
  if (!first) {
    put(el, pageHeader('Run not found'),
      h('p', {}, `This job has no run with the id ${runId}; it may have been deleted. `,
        job ? h('a', { href: `/jobs/${jobId}` }, `Back to ${job.title}.`) : h('a', { href: '/jobs' }, 'Back to the jobs.')));
    return;
  }
  let run = { ...first, _readAt: performance.now() };

  const top = h('div');
  const action = (name, btn) => {
    btn.dataset.action = name;
    return btn;
  };
  // whether the keyboard was last in the header (a dialog opened from it does not count as
  // leaving), and on what: the header is drawn anew as the run changes
  let headerFocus = false;
  let lastFocused = null;
  const onFocusIn = (e) => {
    if (top.contains(e.target)) {
      headerFocus = true;
      lastFocused = e.target;
    } else if (!e.target.closest('dialog')) {
      headerFocus = false;
    }
  };
  document.addEventListener('focusin', onFocusIn);
  // the summary is drawn anew with the run, around the note of why it waits, which stays
  const summaryFacts = h('div');
  const reasonBox = h('div');
  const details = h('div', { class: 'run-details' });

  // Why a QUEUED run waits: held for its job's running run, its not_before, its queue paused,
  // or its queue's slots all busy (asked again every few seconds while it waits). A live
  // region, so it is touched only when what it says changes: else it would be read out again.
  const waiting = h('p', { class: 'notice wait-note', role: 'status', hidden: true });
  const summary = h('div', {}, summaryFacts, waiting, reasonBox);
  let waitText = '';
  let waitAsked = -Infinity;
  let waitTimer = 0; /* one at a time, however often the page is drawn */
  async function explainWait() {
    if (performance.now() - waitAsked < 4000) return;
    waitAsked = performance.now();
    const later = run.not_before && parseTime(run.not_before).getTime() > Date.now();
    let q = null;
    try {
      q = (await api.get('/queues')).hits.hits.find((x) => x.name === run.queue) || null;
    } catch {
      // the reason stays unsaid; the status says enough
    }
    if (!isCurrent(token) || run.status !== 'QUEUED') return;
    const slots = q ? `queue ${q.name} runs ${q.concurrency} at a time; ${q.busy} running, ${q.queued} waiting` : null;
    const paused = q && q.paused
      ? `Queue ${q.name} is paused${q.paused_by ? ` by ${q.paused_by}` : ''} since ${fullTime(q.paused_at)}`
        + `${q.pause_reason ? ` (“${q.pause_reason}”)` : ''}: the run starts once the queue is resumed.`
      : null;
    const held = run.held
      ? 'Waits for the job’s running run to end: the job’s overlap policy, queue_one, lets one run wait but none run beside it.'
      : null;
    const text = held || (later
      ? `Waits until ${fullTime(run.not_before)} before it may start${run.attempt > 1 ? ' (a retry, after its backoff)' : ''}.`
      : paused || (slots ? `Waiting for a free slot: ${slots}.` : 'Waiting for a free slot in its queue.'));
    if (text !== waitText) {
      waitText = text;
      put(waiting, icon('clock'), ' ', text);
    }
    waiting.hidden = false;
    clearTimeout(waitTimer);
    waitTimer = setTimeout(() => { if (run.status === 'QUEUED' && isCurrent(token)) explainWait(); }, 5000);
  }

  // the reason first: why it failed, or what it said
  function reasonEl() {
    if (!run.message) return null;
    const failed = run.status === 'FAILED';
    const warn = run.status === 'PARTIAL_SUCCESS' || run.status === 'WARNING';
    return h('section', { class: `run-reason${failed ? ' is-failed' : warn ? ' is-warn' : ''}`, 'aria-labelledby': 'reason-h' },
      h('h2', { id: 'reason-h' }, failed ? icon('x') : warn ? icon('alert') : null, failed ? 'Why it failed' : 'Message'),
      textBlock(run.message, 'Message', 'message-full'));
  }

  function render() {
    const label = runLabel(run);
    document.title = `${label} · sked`;
    const ended = !isActive(run.status);
    const counters = [['Total', run.total_entries], ['Inserted', run.inserted_entries], ['Updated', run.updated_entries], ['Errored', run.errored_entries]];
    const counted = counters.some(([, v]) => v);
    // the header is drawn anew: the keyboard's place stays on the same control, or, when that
    // went away (Stop, once the run has ended, also while its confirmation was open), moves
    // to the first action
    const active = document.activeElement;
    const focused = top.contains(active) ? active
      : headerFocus && (!active || active === document.body) ? lastFocused : null;
    const name = (el) => el.getAttribute('aria-label') || el.textContent;
    put(top,
      h('div', { class: 'back-row' }, h('a', { href: `/jobs/${jobId}`, class: 'btn btn-ghost btn-small' }, icon('back'), h('span', {}, job ? job.title : 'Job'))),
      pageHeader(h('span', { class: 'run-heading' }, label, ' ', statusBadge(run.status)), [
        // Stop, then Run again, are the page's main action: a dialog opened from Stop that
        // closes after the run ended gives the keyboard to Run again (openDialog's successor)
        isActive(run.status) && run.status !== 'CANCELLING' && can('stop')
          ? action('main', button('Stop', { iconName: 'stop', kind: 'danger', onclick: () => stopRun(run, { onStopped: (r) => update(r) }) })) : null,
        // the same title, queue and arguments (its since too: the same window again)
        ended && can('run') && job
          ? action('main', button('Run again…', { iconName: 'play', onclick: () => configureAndRun(job, { from: run }) })) : null,
        ended && can('deleteRun')
          ? action('delete', button('Delete', { iconName: 'trash', kind: 'danger-ghost', onclick: () => deleteRun(run, { onDeleted: () => navigate(`/jobs/${jobId}`) }) })) : null,
      ], { label: 'Run actions' }));
    if (focused && !top.contains(document.activeElement) && document.querySelector('dialog') === null) {
      const act = focused.dataset && focused.dataset.action;
      const next = (act && top.querySelector(`[data-action="${act}"]`))
        || [...top.querySelectorAll('a, button')].find((el) => name(el) === name(focused))
        || top.querySelector('[role="toolbar"] button') || top.querySelector('h1');
      if (next && next.tagName === 'H1') next.tabIndex = -1;
      // where the reader scrolled to stays: this runs at every update of an active run
      if (next) next.focus({ preventScroll: true });
    }
    // what one glance needs; the full times and the rest are in the facts further on
    put(summaryFacts,
      h('dl', { class: 'run-summary' },
        fact('Started', timeEl(run.started_at, { fallback: 'not yet' })),
        run.finished_at ? fact('Finished', timeEl(run.finished_at)) : null,
        fact('Duration', durationEl(run)),
        fact('Queue', run.queue),
        fact('Trigger', run.trigger),
        fact('Started by', personName(run.started_by)),
        run.stopped_by ? fact('Stopped by', personName(run.stopped_by)) : null,
        run.exit_code === null || run.exit_code === undefined ? null : fact('Exit code', String(run.exit_code)),
        run.attempt > 1 ? fact('Attempt', String(run.attempt)) : null,
        counted ? fact('Entries', h('span', { class: 'entries' }, counters.map(([k, v], i) => [i ? ' · ' : '',
          h('span', { class: k === 'Errored' && v ? 'entries-errored' : null }, `${(v ?? 0).toLocaleString()} ${k.toLowerCase()}`)]))) : null),
      progressEl(run));
    put(reasonBox, reasonEl());
    if (run.status === 'QUEUED') explainWait(); else waiting.hidden = true;
    put(details,
      h('section', { class: 'card', 'aria-labelledby': 'facts-h' }, h('h2', { id: 'facts-h' }, 'Facts'),
        h('dl', { class: 'facts' },
          fact('Status', statusBadge(run.status)),
          fact('Job', h('a', { href: `/jobs/${jobId}` }, job ? job.title : jobId)),
          fact('Task', run.task),
          fact('Queue', run.queue),
          fact('Trigger', triggerEl(run, jobId)),
          // a window given its end (a backfill's): what the task was told to process
          run.until ? fact('Window', h('span', {}, timeEl(run.args && run.args.since, { fallback: 'the beginning', full: true }),
            ' to ', timeEl(run.until, { full: true }))) : null,
          fact('Created', timeEl(run.created, { full: true })),
          fact('Started', timeEl(run.started_at, { fallback: 'not yet', full: true })),
          fact('Finished', timeEl(run.finished_at, { fallback: ended ? '—' : 'not yet', full: true })),
          fact('Duration', durationEl(run)),
          fact('Started by', personName(run.started_by)),
          fact('Stopped by', run.stopped_by ? personName(run.stopped_by) : null),
          fact('Exit code', run.exit_code === null || run.exit_code === undefined ? null : String(run.exit_code)),
          fact('Timeout', run.timeout || 'none'),
          fact('Node', run.node),
          run.executor === 'celery' ? fact('Celery worker', run.worker || 'not yet known') : null,
          fact('Attempt', String(run.attempt ?? 1)),
          run.not_before ? fact('Not before', timeEl(run.not_before, { full: true })) : null,
          fact('Run id', h('code', {}, run.id)))),
      h('div', { class: 'run-details-side' },
        h('section', { class: 'card', 'aria-labelledby': 'args-h' }, h('h2', { id: 'args-h' }, 'Arguments'), jsonBlock(run.args, 'Arguments')),
        h('section', { class: 'card', 'aria-labelledby': 'outcome-h' }, h('h2', { id: 'outcome-h' }, 'Outcome'),
          h('dl', { class: 'facts counters' }, counters.map(([k, v]) => fact(k, String(v ?? 0)))),
          h('h3', {}, 'Output'), run.output === null || run.output === undefined ? h('p', { class: 'muted' }, 'No output.') : jsonBlock(run.output, 'Output'))));
  }

  // The server out of reach: said page-wide, and the duration stops counting, so a run that
  // may have died with the server does not look alive; both come back with the server.
  let hideBanner = null;
  function freezeDurations() {
    for (const d of el.querySelectorAll('[data-live-from]')) delete d.dataset.liveFrom;
  }
  async function connection(up) {
    if (up) {
      if (!hideBanner) return;
      hideBanner();
      hideBanner = null;
      try {
        update(await api.get(runPath));
      } catch {
        render();
      }
      return;
    }
    // a stream may drop while the server is fine: only a failed request says it is out of reach
    try {
      await api.get('/session');
    } catch (err) {
      // no answer, or a proxy's for a server that is down
      if (![0, 502, 503, 504].includes(err.status) || hideBanner || !isCurrent(token)) return;
      hideBanner = setBanner('The server cannot be reached: what this page shows may be out of date. It updates again once the server is back.', 'warn');
      freezeDurations();
    }
  }
  onLeave(() => { if (hideBanner) hideBanner(); });

  function update(r) {
    if (!r || !isCurrent(token)) return;
    // Answers cross: the stop request's 202 (CANCELLING) can arrive after the stream's final
    // CANCELLED. A finished run never changes again, and an older copy never wins.
    if (r.status && TERMINAL.includes(run.status) && !TERMINAL.includes(r.status)) return;
    if (r.updated && run.updated && r.updated < run.updated) return;
    run = { ...run, ...r };
    if (r.duration !== undefined) run._readAt = performance.now();
    render();
    if (hideBanner) freezeDurations();
  }

  const log = createLogView({
    jobId: first.job_id, runId: first.id,
    onRun: update,
    onConnection: connection,
    onProgress: (p) => update({
      progress: p.progress, message: p.message ?? run.message, output: p.output ?? run.output,
      total_entries: p.total_entries, inserted_entries: p.inserted_entries,
      updated_entries: p.updated_entries, errored_entries: p.errored_entries,
    }),
  });
  onLeave(() => {
    log.destroy();
    document.removeEventListener('focusin', onFocusIn);
  });

  render();
  el.append(top, h('div', { class: 'run-layout' },
    h('div', { class: 'run-main' }, summary,
      h('section', { class: 'log-section', 'aria-labelledby': 'log-h' }, h('h2', { id: 'log-h' }, 'Log'), log.el)),
    details));
  log.start(run);
}
