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

export function getQueues() {
  if (!queuesP) queuesP = api.get('/queues').then((r) => r.hits.hits).catch((e) => { queuesP = null; throw e; });
  return queuesP;
}

/** The arguments schema of a job type (GET /api/tasks/{id}/args). */
export function getTaskArgs(taskId) {
  if (!argsCache.has(taskId)) {
    const p = api.get(`/tasks/${encodeURIComponent(taskId)}/args`).catch((e) => { argsCache.delete(taskId); throw e; });
    argsCache.set(taskId, p);
  }
  return argsCache.get(taskId);
}
