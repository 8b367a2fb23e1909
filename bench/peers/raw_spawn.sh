#!/usr/bin/env bash
# Peer "raw", process ceiling (c/spawn_rate.c): /bin/true started with posix_spawn and reaped with
# waitpid, as fast as possible, for SECS s, with 1 and 2 children in flight; the children's
# output goes to a log file.
#   spawn_1, spawn_2   spawns/s
# Every sked run of a child-process job type is at least one posix_spawn + wait, and its pool has
# 2 slots by default: spawn_2 is the ceiling of sked's B5 (and of B1 with /bin/true).
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
