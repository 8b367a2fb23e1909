// Client side of the BullMQ peer benchmark. The worker runs in its own Node process
// (worker.mjs), as in production, so producer and worker each have a core.
//  node bench.mjs PORT throughput N CONC add|bulk
//      add:  N jobs with `await queue.add()`, one at a time, while the worker runs
//      bulk: N jobs with addBulk, 500 per call: the queue and worker side's ceiling
//      end to end = N / (first add -> N-th job completed)
//  node bench.mjs PORT latency K
//      K single jobs 100 ms apart on an idle worker: add -> processor start
//  node bench.mjs PORT repeat SECS
//      a job scheduler `every: 1000` for SECS s: lateness of each firing (processor start - the
//      time the job was due) and |interval - 1 s| between consecutive starts
// Percentiles are nearest rank, as bench/benchlib.py's pct(). Jobs are no-ops; BullMQ's default
// job options, so completed jobs are kept in redis as a record of the run.
import { fork } from 'node:child_process';
import { Queue } from 'bullmq';

const [port, mode, ...rest] = process.argv.slice(2);
const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
const fmt = (x) => x.toFixed(3);

function startWorker(qname, conc, target, wmode) {
  const w = fork(new URL('./worker.mjs', import.meta.url), [port, qname, String(conc), String(target), wmode]);
  const waitFor = (key) => new Promise((res) => {
    const h = (m) => { if (m[key] !== undefined) { w.off('message', h); res(m); } };
    w.on('message', h);
  });
  return { w, waitFor };
}

async function closeWorker(w) {
  const gone = new Promise((res) => w.on('exit', res));
  w.send('close');
  const t = setTimeout(() => w.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(t);
}

async function finish(queue, w) {
  await closeWorker(w);
  await queue.obliterate({ force: true });
  await queue.close();
}

const qname = `bench-${mode}-${process.pid}`;
const queue = new Queue(qname, { connection });
await queue.waitUntilReady();

if (mode === 'throughput') {
  const [n, conc, how] = [Number(rest[0]), Number(rest[1]), rest[2]];
  const { w, waitFor } = startWorker(qname, conc, n, 'count');
  await waitFor('ready');
  const doneP = waitFor('done');
  const t0 = performance.now();
  if (how === 'bulk') {
    for (let i = 0; i < n; i += 500) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 500); j++) batch.push({ name: 'noop', data: { i: j } });
      await queue.addBulk(batch);
    }
  } else {
    for (let i = 0; i < n; i++) await queue.add('noop', { i });
  }
  const t1 = performance.now();
  await doneP;
  const t2 = performance.now();
  console.log(`bullmq N=${n} conc=${conc} add=${how} enqueue_per_s=${(n / ((t1 - t0) / 1000)).toFixed(0)} ` +
    `end_to_end_per_s=${(n / ((t2 - t0) / 1000)).toFixed(0)}`);
  await finish(queue, w);
} else if (mode === 'latency') {
  const k = Number(rest[0]);
  const { w, waitFor } = startWorker(qname, 1, k + 1, 'count');
  await waitFor('ready');
  const doneP = waitFor('done');
  await queue.add('probe', { t: monoMs() }); // warm-up, not counted
  await sleep(300);
  for (let i = 0; i < k; i++) {
    await queue.add('probe', { t: monoMs() });
    await sleep(100);
  }
  await doneP;
  w.send('report');
  const lat = (await waitFor('lat')).lat.slice(1).sort((a, b) => a - b);
  await finish(queue, w);
  console.log(`bullmq-latency K=${lat.length} pickup_ms p50=${fmt(pct(lat, 50))} p95=${fmt(pct(lat, 95))} max=${fmt(lat[lat.length - 1])}`);
} else if (mode === 'repeat') {
  const secs = Number(rest[0]);
  const { w, waitFor } = startWorker(qname, 1, 0, 'ticks');
  await waitFor('ready');
  await queue.upsertJobScheduler('tick', { every: 1000 }, { name: 'tick', data: {} });
  await sleep(secs * 1000);
  await queue.removeJobScheduler('tick');
  w.send('report');
  const { ticks } = await waitFor('ticks');
  await finish(queue, w);
  if (process.env.DEBUG_TICKS) console.error(JSON.stringify(ticks));
  const t = ticks.slice(1); // the first firing is at upsert time, not on the 1 s grid
  if (t.length < 3) { console.error(`only ${t.length} ticks`); process.exit(1); }
  const late = t.map((x) => x.start - x.due).sort((a, b) => a - b);
  const iv = t.slice(1).map((x, i) => Math.abs(x.start - t[i].start - 1000)).sort((a, b) => a - b);
  console.log(`bullmq-repeat ticks=${t.length} ms: lateness_p50=${pct(late, 50)} lateness_p95=${pct(late, 95)} ` +
    `lateness_max=${late[late.length - 1]} interval_err_p50=${pct(iv, 50)} interval_err_p95=${pct(iv, 95)} ` +
    `interval_err_max=${iv[iv.length - 1]}`);
} else {
  console.error('usage: node bench.mjs PORT throughput N CONC add|bulk | PORT latency K | PORT repeat SECS');
  process.exit(2);
}
