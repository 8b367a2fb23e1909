// BullMQ worker process of the peer benchmark, forked by bench.mjs.
// argv: PORT QUEUE CONCURRENCY TARGET MODE
//  count: tell the parent {done} once TARGET jobs completed; keep enqueue -> start latency of
//         jobs that carry data.t (process.hrtime, i.e. CLOCK_MONOTONIC: one clock for every
//         process of the machine, and sub-millisecond)
//  ticks: for each job of the job scheduler, when it was due and when it started (wall clock
//         ms, as BullMQ schedules)
// The parent asks for the figures with 'report' and ends the worker with 'close'.
import { Worker } from 'bullmq';

const [port, qname, conc, target, mode] = process.argv.slice(2);
const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
let done = 0;
const ticks = [];
const lat = [];
const worker = new Worker(
  qname,
  async (job) => {
    if (job.data && job.data.t !== undefined) lat.push(monoMs() - job.data.t);
    if (mode === 'ticks') {
      // a scheduler job's id is "repeat:<scheduler id>:<the millisecond it is due>"
      ticks.push({ start: Date.now(), due: Number(String(job.id).split(':').pop()), id: job.id });
    }
  },
  { connection, concurrency: Number(conc) },
);
worker.on('completed', () => {
  done++;
  if (mode === 'count' && done === Number(target)) process.send({ done });
});
worker.on('error', (e) => console.error('worker error', e));
// if the parent goes away (it failed, or was stopped), do not stay behind retrying redis
process.on('disconnect', () => process.exit(1));
await worker.waitUntilReady();
process.send({ ready: true });
process.on('message', async (m) => {
  if (m === 'report') process.send({ ticks, lat });
  if (m === 'close') {
    await worker.close();
    process.exit(0);
  }
});
