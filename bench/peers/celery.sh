#!/usr/bin/env bash
# Peer "celery": Debian's Celery (python3-celery) with a throwaway redis-server as broker (memory
# only), one prefork worker with 2 processes (-c 2: 2 cores, as sked's pool has 2 slots).
# One pass measures, on 127.0.0.1:
#   one_by_one             tasks/s: one client calls noop.delay() N times, one at a time, while
#                          the worker runs; end to end, first delay() until the worker has run
#                          all N. Results are stored in redis (result backend), as sked stores
#                          every run's outcome. Comparable to sked's B1.
#   one_by_one_no_backend  the same with task_ignore_result: nothing is stored per task.
#   pickup_p50_ms, pickup_p95_ms
#                          K single tasks 100 ms apart on the idle worker: delay() -> task start.
#                          Comparable to sked's B6.
#   beat_interval_error_p95_ms
#                          celery beat with a 1 s schedule for BEAT_SECS s: |interval - 1 s|
#                          between consecutive task starts in the worker. Celery beat has no
#                          "due time" to measure lateness against, so this is the nearest figure
#                          to sked's B7 (lateness of a 1 s interval job).
# The tasks are no-ops in the worker process (no fork/exec per task).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
peer_init celery
N=${N:-2000}
K=${K:-40}
BEAT_SECS=${BEAT_SECS:-25}

need_deb python3 python3-celery python3-redis redis-server redis-tools
export PYTHONDONTWRITEBYTECODE=1
PORT=$(free_port)
start_redis "$PORT"
export BENCH_REDIS_PORT=$PORT
cd "$PEERS_DIR/celery"
version celery "celery $($DEB_PY -c 'import celery; print(celery.__version__)')" \
  "(Debian python3-celery $(debver python3-celery)), kombu $(debver python3-kombu)," \
  "redis-server $(debver redis-server), python $($DEB_PY -c 'import platform; print(platform.python_version())')"

start_worker() { # LOG-NAME
  $DEB_PY -m celery -A bench_app worker -P prefork -c 2 --loglevel=WARNING \
    --without-gossip --without-mingle --without-heartbeat </dev/null >"$RUN_DIR/worker-$1.log" 2>&1 &
  WORKER=$!
  track "$WORKER"
}
drive() { # ARGS...: run drive.py, show the worker's log if it fails
  local out
  out=$(timeout 120 "$DEB_PY" drive.py "$@") || { tail -20 "$RUN_DIR"/worker-*.log >&2; return 1; }
  log "  $out"
  echo "$out"
}

for backend in 1 0; do
  export BENCH_BACKEND=$backend
  redis-cli -p "$PORT" flushall >/dev/null
  start_worker "backend$backend"
  out=$(drive throughput "$N")
  if [ "$backend" = 1 ]; then metric=one_by_one; else metric=one_by_one_no_backend; fi
  report celery "$metric" end_to_end_per_s "$out" tasks/s
  stop_pid "$WORKER"
done

# pickup latency on the idle worker, then beat (the same worker runs the ticks)
export BENCH_BACKEND=0
redis-cli -p "$PORT" flushall >/dev/null
start_worker idle
out=$(drive latency "$K")
report celery pickup_p50_ms p50 "$out" ms
report celery pickup_p95_ms p95 "$out" ms

$DEB_PY -m celery -A bench_app beat -s "$RUN_DIR/beat-schedule" --loglevel=WARNING \
  </dev/null >"$RUN_DIR/beat.log" 2>&1 &
BEAT=$!
track "$BEAT"
sleep "$BEAT_SECS"
stop_pid "$BEAT"
sleep 0.5   # the last tick sent may still be running
out=$(drive ticks)
report celery beat_interval_error_p95_ms interval_err_p95 "$out" ms
stop_pid "$WORKER"
