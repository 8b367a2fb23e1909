#!/usr/bin/env bash
# Measures the systems people compare sked with, on this machine, and writes their figures to
# bench/out/peers.json for the sked-side benchmark table (see README.md beside this file).
#
# usage: bench/peers/run.sh [PASSES]      (default 3; `make bench-peers`)
#        PEERS="celery raw" bench/peers/run.sh 1     only some peers (the file then has only those)
#
# Installs what is missing first (Debian packages as root; otherwise prints the apt-get command
# and exits 1; npm packages with `npm ci` from the committed lock files). Then runs every peer
# script once per pass, one at a time (2 cores: two benchmarks at once would measure each other),
# with passes outermost so that a slow moment of a shared machine spreads over all peers instead
# of sinking one. Each script runs in its own process group under a time limit; whatever it
# leaves running when it ends is stopped. A peer that cannot be set up or fails is recorded with
# its error and the run goes on. Full log: bench/out/peers.log.
# Exit status: 0 when every peer reported every figure, 1 otherwise (the JSON is written anyway).
set -euo pipefail
cd "$(dirname "$0")"
. ./lib.sh

PASSES=${1:-3}
[[ $PASSES =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [PASSES]" >&2; exit 2; }
OUT_DIR=$(cd .. && pwd)/out
OUT=$OUT_DIR/peers.json
LOG=$OUT_DIR/peers.log

# peer, script, time limit in seconds, in the order they run within a pass. A pass takes about
# 2 minutes on 2 cores; the limits only catch a peer that hangs.
SCRIPTS=(
  "raw raw_spawn.sh 60"
  "raw raw_sqlite.sh 60"
  "raw raw_http.sh 60"
  "beanstalkd beanstalkd.sh 90"
  "celery celery.sh 170"
  "bullmq bullmq.sh 170"
  "graphile_worker graphile_worker.sh 120"
)
# the Debian packages of each peer ("nodejs" and "npm" count as present when node and npm are
# on PATH, whatever installed them)
declare -A DEBS=(
  [raw]="python3 gcc libc6-dev libsqlite3-dev nginx wrk"
  [beanstalkd]="python3 beanstalkd gcc libc6-dev"
  [celery]="python3 python3-celery python3-redis redis-server redis-tools"
  [bullmq]="python3 redis-server redis-tools nodejs npm"
  [graphile_worker]="python3 postgresql-15 postgresql-client-15 nodejs npm"
)
declare -A NPM_DIR=([bullmq]=bullmq [graphile_worker]=graphile)
ALL_PEERS=(raw beanstalkd celery bullmq graphile_worker)
read -r -a SELECTED <<<"${PEERS:-${ALL_PEERS[*]}}"
for p in "${SELECTED[@]}"; do
  [ -n "${DEBS[$p]:-}" ] || { echo "unknown peer '$p' (known: ${ALL_PEERS[*]})" >&2; exit 2; }
done

mkdir -p "$OUT_DIR"
: >"$LOG"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sked-peers.XXXXXX")
chmod 755 "$TMP"   # PostgreSQL and nginx's worker run as other users and must reach their files
export PEERS_TMP=$TMP PEERS_BIN=$TMP/bin
RECORDS=$TMP/records
: >"$RECORDS"
CHILD=""

# stop_group PGID: stop what is left of a peer script's process group (normally nothing)
stop_group() {
  local g=$1 i
  kill -0 -- "-$g" 2>/dev/null || return 0
  log "stopping what is left of process group $g"
  kill -TERM -- "-$g" 2>/dev/null || true
  for i in $(seq 50); do kill -0 -- "-$g" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL -- "-$g" 2>/dev/null || true
}
# shellcheck disable=SC2317 # called by the trap
on_exit() {
  local rc=$?
  set +e
  if [ -n "$CHILD" ]; then
    kill -TERM "$CHILD" 2>/dev/null   # timeout passes it on to the peer script's group
    wait "$CHILD" 2>/dev/null
    stop_group "$CHILD"
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap on_exit EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# --- install what is missing ------------------------------------------------------------------
declare -A SETUP_ERR=()
wanted=()
for p in "${SELECTED[@]}"; do
  for d in ${DEBS[$p]}; do wanted+=("$d"); done
done
missing=$(deb_missing "${wanted[@]}" | sort -u | tr '\n' ' ')
missing=${missing% }
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages; run:  sudo apt-get install -y --no-install-recommends $missing" >&2
    exit 1
  fi
  log "installing $missing"
  # shellcheck disable=SC2086 # one word per package
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends $missing; } >>"$LOG" 2>&1 ||
    log "apt-get failed (see $LOG); peers whose packages are missing are skipped"
fi
for p in "${SELECTED[@]}"; do
  # shellcheck disable=SC2086
  still=$(deb_missing ${DEBS[$p]} | tr '\n' ' ')
  if [ -n "$still" ]; then
    SETUP_ERR[$p]="could not install the Debian packages: ${still% }"
  elif [ -n "${NPM_DIR[$p]:-}" ] && ! need_npm "$PWD/${NPM_DIR[$p]}" >>"$LOG" 2>&1; then
    SETUP_ERR[$p]="npm ci failed in bench/peers/${NPM_DIR[$p]} (see bench/out/peers.log)"
  fi
  if [ -n "${SETUP_ERR[$p]:-}" ]; then
    log "$p: ${SETUP_ERR[$p]}"
    echo "- ERROR $p ${SETUP_ERR[$p]}" >>"$RECORDS"
  fi
done

# --- the passes -------------------------------------------------------------------------------
# run_script PASS PEER SCRIPT LIMIT: one pass of one script; its RESULT and VERSION lines go to
# the records, prefixed with the pass
declare -A TIMED_OUT=()
run_script() {
  local pass=$1 peer=$2 script=$3 limit=$4 out=$TMP/out err=$TMP/err rc=0 t0=$SECONDS why
  printf '[%s] pass %d/%d %-20s' "$(date +%H:%M:%S)" "$pass" "$PASSES" "$script" >&2
  # timeout makes its own process group, which holds everything the script starts
  timeout -k 10 "$limit" bash "./$script" </dev/null >"$out" 2>"$err" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  stop_group "$CHILD"
  CHILD=""
  { echo "=== pass $pass $script (exit $rc, $((SECONDS - t0)) s)"; cat "$err" "$out"; } >>"$LOG"
  sed -nE "s/^(RESULT|VERSION) /$pass &/p" "$out" >>"$RECORDS"
  if [ "$rc" = 0 ]; then
    echo " ok, $((SECONDS - t0)) s" >&2
  else
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      why="timed out after $limit s"
      TIMED_OUT[$script]=1
    else
      why="exit $rc: $(grep -v '^\s*$' "$err" | tail -1 | cut -c1-300)"
    fi
    echo " FAILED ($why)" >&2
    tail -15 "$err" | sed 's/^/    /' >&2
    echo "$pass FAILED $peer $script $why" >>"$RECORDS"
  fi
  grep '^RESULT' "$out" | sed 's/^RESULT /    /' >&2 || true
}

start=$SECONDS
for ((pass = 1; pass <= PASSES; pass++)); do
  for entry in "${SCRIPTS[@]}"; do
    read -r peer script limit <<<"$entry"
    [[ " ${SELECTED[*]} " == *" $peer "* ]] || continue
    [ -z "${SETUP_ERR[$peer]:-}" ] || continue
    if [ -n "${TIMED_OUT[$script]:-}" ]; then   # it would most likely hang again
      echo "$pass FAILED $peer $script not run: timed out in an earlier pass" >>"$RECORDS"
      continue
    fi
    run_script "$pass" "$peer" "$script" "$limit"
  done
done
log "$PASSES pass(es) in $((SECONDS - start)) s"

rc=0
python3 ./collect.py "$RECORDS" "$OUT" "${SELECTED[@]}" || rc=$?
echo "wrote $OUT (log: $LOG)"
exit "$rc"
