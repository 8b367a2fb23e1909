// Client side of the graphile-worker peer benchmark. The worker runs in its own Node process
// (worker.mjs), as in production.
//  node bench.mjs CONN throughput N CONC add|bulk
//      add:  N jobs with `await addJob()`, one at a time, while the worker runs
//      bulk: N jobs with addJobs, 500 per call: the queue and worker side's ceiling
//      end to end = N / (first add -> N-th job succeeded)
//  node bench.mjs CONN latency K
//      K single jobs 100 ms apart on an idle worker: add -> task start (LISTEN/NOTIFY)
// Percentiles are nearest rank, as bench/benchlib.py's pct().
import { fork } from 'node:child_process';
import { makeWorkerUtils } from 'graphile-worker';

const [conn, mode, ...rest] = process.argv.slice(2);
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))];
const fmt = (x) => x.toFixed(3);
const utils = await makeWorkerUtils({ connectionString: conn });
await utils.migrate();

function startWorker(conc, target) {
  const w = fork(new URL('./worker.mjs', import.meta.url), [conn, String(conc), String(target)],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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

if (mode === 'throughput') {
  const [n, conc, how] = [Number(rest[0]), Number(rest[1]), rest[2]];
  const { w, waitFor } = startWorker(conc, n);
  await waitFor('ready');
  const doneP = waitFor('done');
  const t0 = performance.now();
  if (how === 'bulk') {
    for (let i = 0; i < n; i += 500) {
      const specs = [];
      for (let j = i; j < Math.min(n, i + 500); j++) specs.push({ identifier: 'noop', payload: { i: j } });
      await utils.addJobs(specs);
    }
  } else {
    for (let i = 0; i < n; i++) await utils.addJob('noop', { i });
  }
  const t1 = performance.now();
  await doneP;
  const t2 = performance.now();
  console.log(`graphile N=${n} conc=${conc} add=${how} enqueue_per_s=${(n / ((t1 - t0) / 1000)).toFixed(0)} ` +
    `end_to_end_per_s=${(n / ((t2 - t0) / 1000)).toFixed(0)}`);
  await closeWorker(w);
} else if (mode === 'latency') {
  const k = Number(rest[0]);
  const { w, waitFor } = startWorker(1, k + 1);
  await waitFor('ready');
  const doneP = waitFor('done');
  await utils.addJob('probe', { t: monoMs() }); // warm-up, not counted
  await sleep(300);
  for (let i = 0; i < k; i++) {
    await utils.addJob('probe', { t: monoMs() });
    await sleep(100);
  }
  await doneP;
  w.send('report');
  const lat = (await waitFor('lat')).lat.slice(1).sort((a, b) => a - b);
  await closeWorker(w);
  console.log(`graphile-latency K=${lat.length} pickup_ms p50=${fmt(pct(lat, 50))} p95=${fmt(pct(lat, 95))} max=${fmt(lat[lat.length - 1])}`);
} else {
  console.error('usage: node bench.mjs CONN throughput N CONC add|bulk | CONN latency K');
  process.exitCode = 2;
}
await utils.release();
