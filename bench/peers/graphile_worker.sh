#!/usr/bin/env bash
# Peer "graphile_worker": graphile-worker (npm, pinned by graphile/package-lock.json) on a
# throwaway PostgreSQL 15 cluster from Debian, with PostgreSQL's defaults that matter here:
# fsync on and synchronous_commit on, so every added job is durable when addJob returns. The
# worker runs in its own Node process with concurrency 2 (2 cores, as sked's pool has 2 slots);
# jobs are no-ops in that process. One pass measures, on 127.0.0.1:
#   one_by_one  jobs/s: N jobs with `await addJob()`, one at a time, while the worker runs; end
#               to end, first add to last success. Comparable to sked's B1, and in durability
#               to B4 (durability full).
#   bulk        jobs/s: N_BULK jobs with addJobs (500 per call); end to end. The queue and
#               worker side's ceiling, comparable to sked's B3.
#   pickup_p50_ms, pickup_p95_ms
#               K single jobs 100 ms apart on the idle worker: addJob -> task start (the worker
#               is woken by LISTEN/NOTIFY). Comparable to sked's B6.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
peer_init graphile_worker
N=${N:-1000}
N_BULK=${N_BULK:-4000}
K=${K:-40}

need_deb python3 postgresql-15 postgresql-client-15 nodejs npm
need_npm "$PEERS_DIR/graphile"
PORT=$(free_port)
start_pg "$PORT"
CONN="postgres://postgres@127.0.0.1:$PORT/postgres"
cd "$PEERS_DIR/graphile"
version graphile_worker \
  "graphile-worker $(node -p 'require("./node_modules/graphile-worker/package.json").version')," \
  "pg $(node -p 'require("./node_modules/pg/package.json").version'), node $(node -v)," \
  "PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') (Debian $(debver postgresql-15))"

bench() { # ARGS...: one run of bench.mjs
  local out
  out=$(timeout 90 node bench.mjs "$CONN" "$@")
  log "  $out"
  echo "$out"
}

out=$(bench throughput "$N" 2 add)
report graphile_worker one_by_one end_to_end_per_s "$out" jobs/s
out=$(bench throughput "$N_BULK" 2 bulk)
report graphile_worker bulk end_to_end_per_s "$out" jobs/s
out=$(bench latency "$K")
report graphile_worker pickup_p50_ms p50 "$out" ms
report graphile_worker pickup_p95_ms p95 "$out" ms
