// graphile-worker runner process of the peer benchmark, forked by bench.mjs. Default options
// except the concurrency. argv: CONNECTION-STRING CONCURRENCY TARGET
// Tells the parent {ready}, then {done} after TARGET successful jobs; on 'report' sends
// {lat: [...]}: ms from enqueue to task start of the probe jobs (process.hrtime, i.e.
// CLOCK_MONOTONIC: one clock for every process of the machine).
import { run } from 'graphile-worker';

const [connectionString, conc, target] = process.argv.slice(2);
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
let done = 0;
const lat = [];
const runner = await run({
  connectionString,
  concurrency: Number(conc),
  noHandleSignals: true,
  taskList: {
    noop: async () => {},
    probe: async (payload) => { lat.push(monoMs() - payload.t); },
  },
});
runner.events.on('job:success', () => {
  done++;
  if (done === Number(target)) process.send({ done });
});
// if the parent goes away (it failed, or was stopped), do not stay behind
process.on('disconnect', () => process.exit(1));
process.send({ ready: true });
process.on('message', async (m) => {
  if (m === 'report') process.send({ lat });
  if (m === 'close') {
    await runner.stop();
    process.exit(0);
  }
});
