// Lookups that change rarely and are needed on many pages: job types, queues, and job
// titles for lists that only carry a job id (runs, audit entries). Cached for the life of
// the page; job types and queues are read from the task files at server start.

import { api } from './api.js';

let tasksP = null;
let queuesP = null;
const argsCache = new Map();
const jobTitles = new Map();

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

export function rememberJob(job) {
  jobTitles.set(job.id, job.title);
}

/**
 * Titles for job ids, fetched one job at a time (runs and audit entries carry only job_id;
 * see the report on the API). Deleted jobs come back as null.
 */
export async function jobTitlesFor(ids) {
  const missing = [...new Set(ids)].filter((id) => id && !jobTitles.has(id));
  await Promise.all(missing.map(async (id) => {
    try {
      const j = await api.get(`/jobs/${id}`);
      jobTitles.set(id, j.title);
    } catch (e) {
      if (e.status === 404) jobTitles.set(id, null);
    }
  }));
  return jobTitles;
}
