#!/usr/bin/env bash
# Peer "raw", process ceiling (c/spawn_rate.c): /bin/true started with posix_spawn and reaped with
# waitpid, as fast as possible, for SECS s, with 1 and 2 children in flight; the children's
# output goes to a log file; then 2 in flight, each child set up as sked sets up a task process
# (its four pipes, a process group, signal dispositions, a working directory) and nothing else.
#   spawn_1, spawn_2   spawns/s
#   spawn_2_setup      spawns/s
# Every sked run of a child-process job type is at least one posix_spawn + wait, and its pool has
# 2 slots by default: spawn_2 is the ceiling of sked's B5 (and of B1 with /bin/true), and
# spawn_2_setup what is left of it once the child's setup is paid.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
peer_init raw_spawn
SECS=${SECS:-3}

need_deb gcc libc6-dev
SPAWN=$(build_c spawn_rate)
version raw "kernel $(uname -r), glibc $(debver libc6)"

for p in 1 2; do
  out=$(timeout 30 "$SPAWN" "$p" "$SECS" /bin/true "$RUN_DIR/children.log")
  log "  $out"
  report raw "spawn_$p" per_s "$out" spawns/s
done
out=$(timeout 30 "$SPAWN" 2 "$SECS" /bin/true "$RUN_DIR/children.log" sked)
log "  $out"
report raw spawn_2_setup per_s "$out" spawns/s
