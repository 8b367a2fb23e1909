#!/usr/bin/env bash
# Peer "raw", store ceiling (c/sqlite_runs.c): job-run records persisted per second by SQLite, one
# run = INSERT (running) + UPDATE (succeeded, exit code, log tail), for SECS s each, on a fresh
# database file in the scratch folder (the same file system as sked's benchmark stores).
#   sqlite_wal_normal         runs/s, WAL, synchronous=NORMAL, each statement its own
#                             transaction: sked's default durability
#   sqlite_wal_full           runs/s, WAL, synchronous=FULL: an fsync per commit, as sked's
#                             durability full (B4)
#   sqlite_wal_full_batch64   runs/s, WAL, FULL, 64 runs' inserts in one transaction and their
#                             updates in another: what group commit can reach with full
#                             durability
set -euo pipefail
. "$(dirname "$0")/lib.sh"
peer_init raw_sqlite
SECS=${SECS:-3}

need_deb gcc libc6-dev libsqlite3-dev
SQLITE=$(build_c sqlite_runs -lsqlite3)
version raw "SQLite $(debver libsqlite3-0)"
fs=$(stat -f -c %T "$RUN_DIR")
# on tmpfs an fsync costs nothing, and the FULL figures would mean nothing
[ "$fs" != tmpfs ] || log "warning: $RUN_DIR is on tmpfs; set TMPDIR to a folder on disk"

mode() { # METRIC SYNC BATCH
  local out
  rm -f "$RUN_DIR"/runs.db*
  out=$(timeout 60 "$SQLITE" "$RUN_DIR/runs.db" "$2" WAL "$SECS" "$3")
  log "  $out"
  report raw "$1" runs_per_s "$out" runs/s
}
mode sqlite_wal_normal NORMAL 1
mode sqlite_wal_full FULL 1
mode sqlite_wal_full_batch64 FULL 64
