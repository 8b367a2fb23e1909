#!/usr/bin/env bash
# Peer "beanstalkd": Debian's beanstalkd (a work queue in C), driven by c/bs_bench.c with one
# request in flight per connection. One pass measures, on 127.0.0.1:
#   memory        jobs/s: 1 producer puts N jobs one by one while 2 consumer processes reserve
#                 and delete them; end to end, first put to last delete. Jobs live in memory
#                 only. Comparable to sked's B1 (one client submitting one by one, 2 slots),
#                 with no work per job: beanstalkd's own cost per job.
#   binlog        the same with the binlog (-b) and its default fsync policy (at most one fsync
#                 every 50 ms): what a put costs when it is written but not synced each time.
#   binlog_fsync  the same with -f 0: fsync after every write, so a put is on disk before it is
#                 acknowledged. Comparable to sked's B4 (durability full).
#   pickup_p50_ms, pickup_p95_ms
#                 put -> reserved, K jobs 100 ms apart while a consumer waits in reserve
#                 (memory mode). Comparable to sked's B6 (enqueue -> start on an idle pool).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
peer_init beanstalkd
N=${N:-60000}            # memory and default binlog: 2-8 s each on 2 cores
N_FSYNC=${N_FSYNC:-10000} # fsync on every write: 2-6 s
K=${K:-40}

need_deb python3 beanstalkd gcc libc6-dev
BS=$(build_c bs_bench -lm)
version beanstalkd "beanstalkd $(debver beanstalkd)"

start_beanstalkd() { # extra beanstalkd arguments...
  PORT=$(free_port)
  beanstalkd -l 127.0.0.1 -p "$PORT" "$@" </dev/null >&2 &
  BS_PID=$!
  track "$BS_PID"
  wait_port "$PORT" 10
}

# pool N LABEL: the producer/consumer run against the server that runs now
pool() {
  local out
  out=$(timeout 60 "$BS" "$PORT" pool "$1" 2)
  log "  [$2] $out"
  report beanstalkd "$2" jobs_per_s "$out" jobs/s
}

start_beanstalkd
out=$(timeout 30 "$BS" "$PORT" lat "$K")
log "  $out"
report beanstalkd pickup_p50_ms p50 "$out" ms
report beanstalkd pickup_p95_ms p95 "$out" ms
pool "$N" memory
stop_pid "$BS_PID"

mkdir "$RUN_DIR/binlog"
start_beanstalkd -b "$RUN_DIR/binlog"
pool "$N" binlog
stop_pid "$BS_PID"

rm -rf "$RUN_DIR/binlog" && mkdir "$RUN_DIR/binlog"
start_beanstalkd -b "$RUN_DIR/binlog" -f 0
pool "$N_FSYNC" binlog_fsync
stop_pid "$BS_PID"
