// Lookups that change rarely and are needed on many pages: job types and queues (read from the
// task files at server start) and job types' argument schemas. Cached for the life of the page.

import { api } from './api.js';

let tasksP = null;
let queuesP = null;
const argsCache = new Map();

export function getTasks() {
  if (!tasksP) tasksP = api.get('/tasks').then((r) => r.hits.hits).catch((e) => { tasksP = null; throw e; });
  return tasksP;
}

/** The queues; `fresh` reads them again (a pause is news that a cached list would miss). */
export function getQueues({ fresh = false } = {}) {
  if (!queuesP || fresh) queuesP = api.get('/queues').then((r) => r.hits.hits).catch((e) => { queuesP = null; throw e; });
  return queuesP;
}

/** A queue in a picker: "default (4 at a time)", "remote (Celery workers)", "… — paused". */
export function queueLabel(q) {
  const slots = typeof q.concurrency === 'number' ? `${q.concurrency} at a time` : 'Celery workers';
  return `${q.title || q.name} (${slots})${q.paused ? ' — paused' : ''}`;
}

/** What a paused queue means for the runs started in it (`waits`: "this run waits"). */
export function pausedText(q, waits) {
  const reason = q.pause_reason ? ` (“${q.pause_reason}”)` : '';
  const by = q.paused_by ? ` by ${q.paused_by}` : '';
  return `Queue ${q.name} is paused${by}${reason}: ${waits}, queued, until it is resumed.`;
}

/** The arguments schema of a job type (GET /api/tasks/{id}/args). */
export function getTaskArgs(taskId) {
  if (!argsCache.has(taskId)) {
    const p = api.get(`/tasks/${encodeURIComponent(taskId)}/args`).catch((e) => { argsCache.delete(taskId); throw e; });
    argsCache.set(taskId, p);
  }
  return argsCache.get(taskId);
}
