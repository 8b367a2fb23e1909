#!/usr/bin/env bash
# Peer "bullmq": BullMQ (npm, pinned by bullmq/package-lock.json) on a throwaway redis-server
# (memory only). Producer and worker are separate Node processes; jobs are no-ops run in the
# worker process. One pass measures, on 127.0.0.1:
#   one_by_one   jobs/s: N jobs added with `await queue.add()` one at a time while a worker with
#                concurrency 2 runs; end to end, first add to last completed. Comparable to
#                sked's B1.
#   bulk_c2, bulk_c16
#                jobs/s: N_BULK jobs added with addBulk (500 per call), worker concurrency 2 and
#                16; end to end. The queue and worker side's ceiling, comparable to sked's B3
#                (draining a queue that is already full).
#   pickup_p50_ms, pickup_p95_ms
#                K single jobs 100 ms apart on the idle worker: add -> processor start.
#                Comparable to sked's B6.
#   scheduler_lateness_p50_ms, scheduler_lateness_p95_ms
#                a job scheduler `every: 1000` for REPEAT_SECS s: processor start - the time the
#                job was due. Comparable to sked's B7 (lateness of a 1 s interval job).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
peer_init bullmq
N=${N:-3000}
N_BULK=${N_BULK:-10000}
K=${K:-40}
REPEAT_SECS=${REPEAT_SECS:-20}

need_deb python3 redis-server redis-tools nodejs npm
need_npm "$PEERS_DIR/bullmq"
PORT=$(free_port)
start_redis "$PORT"
cd "$PEERS_DIR/bullmq"
version bullmq "bullmq $(node -p 'require("./node_modules/bullmq/package.json").version')," \
  "ioredis $(node -p 'require("./node_modules/ioredis/package.json").version'), node $(node -v)," \
  "redis-server $(debver redis-server)"

bench() { # ARGS...: one run of bench.mjs
  local out
  out=$(timeout 90 node bench.mjs "$PORT" "$@")
  log "  $out"
  echo "$out"
}

out=$(bench throughput "$N" 2 add)
report bullmq one_by_one end_to_end_per_s "$out" jobs/s
out=$(bench throughput "$N_BULK" 2 bulk)
report bullmq bulk_c2 end_to_end_per_s "$out" jobs/s
out=$(bench throughput "$N_BULK" 16 bulk)
report bullmq bulk_c16 end_to_end_per_s "$out" jobs/s
out=$(bench latency "$K")
report bullmq pickup_p50_ms p50 "$out" ms
report bullmq pickup_p95_ms p95 "$out" ms
out=$(bench repeat "$REPEAT_SECS")
report bullmq scheduler_lateness_p50_ms lateness_p50 "$out" ms
report bullmq scheduler_lateness_p95_ms lateness_p95 "$out" ms
