# Helpers of the peer benchmarks: sourced by run.sh and by each peer script, never run directly.
#
# A peer script measures its system once (one pass) and prints on stdout, as it goes:
#   VERSION <peer> <free text>
#   RESULT <peer> <metric> <value> <unit>
# and its progress on stderr. run.sh runs each script once per pass and turns these lines into
# bench/out/peers.json. Results are printed as soon as they are measured, so a peer that fails
# half-way still reports what it measured before.
#
# Every server listens on 127.0.0.1 only, on a port picked free at start, keeps its data in a
# temporary folder, and is stopped by PID when the script exits, whatever the reason (trap).

PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's interpreter: python3-celery and python3-redis live there, not in another python3
# that may come first on PATH.
# shellcheck disable=SC2034 # used by celery.sh
DEB_PY=/usr/bin/python3
PG_BIN=/usr/lib/postgresql/15/bin
PIDS=()
RUN_DIR=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

result() { echo "RESULT $1 $2 $3 $4"; }   # result PEER METRIC VALUE UNIT
version() { echo "VERSION $*"; }           # version PEER TEXT...
debver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }

# peer_init NAME: a scratch folder for this pass (under $PEERS_TMP when run.sh runs us, else
# under $TMPDIR), and the trap that stops what we started and removes it on any exit.
peer_init() {
  local base=${PEERS_TMP:-${TMPDIR:-/tmp}}
  RUN_DIR=$(mktemp -d "$base/$1.XXXXXX")
  chmod 755 "$RUN_DIR"   # PostgreSQL runs as the user postgres and must reach its data folder
  trap peer_cleanup EXIT
  trap 'log "interrupted"; exit 130' INT
  trap 'log "terminated"; exit 143' TERM
}

# track PID [SIGNAL]: on exit, stop PID with SIGNAL (default TERM), then KILL after 5 s.
# Stopped in reverse order of tracking, so clients go before the servers they use.
track() { PIDS+=("$1:${2:-TERM}"); }

# alive PID: the process runs (an exited child not yet reaped is a zombie, and kill -0 would
# still find it).
alive() {
  local st
  st=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# stop_pid PID [SIGNAL]: stop a tracked process now and forget it, so that the exit trap never
# signals a PID that the system may have given to another process since.
stop_pid() {
  local p=$1 sig=${2:-TERM} i keep=()
  for i in "${PIDS[@]}"; do [ "${i%%:*}" = "$p" ] || keep+=("$i"); done
  PIDS=("${keep[@]}")
  alive "$p" || { wait "$p" 2>/dev/null || true; return 0; }
  kill -"$sig" "$p" 2>/dev/null || true
  for i in $(seq 50); do alive "$p" || break; sleep 0.1; done
  if alive "$p"; then
    log "pid $p still running 5 s after SIG$sig, killing it"
    kill -KILL "$p" 2>/dev/null || true
  fi
  wait "$p" 2>/dev/null || true   # reap our own children quietly
}

peer_cleanup() {
  local rc=$? last
  set +e
  trap - INT TERM
  while [ ${#PIDS[@]} -gt 0 ]; do   # last tracked first
    last=${PIDS[-1]}
    stop_pid "${last%%:*}" "${last#*:}"
  done
  if [ -n "$RUN_DIR" ] && [ -z "${KEEP_RUN_DIR:-}" ]; then rm -rf "$RUN_DIR"; fi
  exit "$rc"
}

# deb_missing PKG...: print the Debian packages of the list that are not installed.
# "nodejs" counts as present when some node is on PATH (a Node.js from elsewhere ships npm and
# conflicts with Debian's), and "npm" when some npm is.
deb_missing() {
  local p
  for p in "$@"; do
    case $p in
      nodejs) command -v node >/dev/null && continue ;;
      npm) command -v npm >/dev/null && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"
  done
}

# need_deb PKG...: install what is missing (root), or print the command and fail (not root).
need_deb() {
  local missing
  missing=$(deb_missing "$@" | tr '\n' ' ')
  missing=${missing% }
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages; run:  sudo apt-get install -y --no-install-recommends $missing" >&2
    return 1
  fi
  log "installing $missing"
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
    { apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2; }
}

# need_npm DIR: install DIR's node_modules exactly as its committed package-lock.json says,
# again whenever the lock file changes.
need_npm() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

# build_c NAME [LIBS...]: compile c/NAME.c into $PEERS_BIN (default: the scratch folder) unless
# an up-to-date binary is there; echo the binary's path.
build_c() {
  local name=$1; shift
  local bin=${PEERS_BIN:-$RUN_DIR}/$name src=$PEERS_DIR/c/$name.c
  mkdir -p "$(dirname "$bin")"
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
    gcc -O2 -Wall -Wextra -Werror -o "$bin.tmp" "$src" "$@" >&2 && mv "$bin.tmp" "$bin"
  fi
  echo "$bin"
}

# free_port: a TCP port of 127.0.0.1 that nothing listens on right now. Fixed ports would
# collide with whatever else runs on a shared machine.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT [SECONDS]: wait until 127.0.0.1:PORT accepts TCP connections.
wait_port() {
  local port=$1 limit=${2:-20} t=0
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    sleep 0.1
    t=$((t + 1))
    [ "$t" -lt $((limit * 10)) ] || { log "nothing listens on 127.0.0.1:$port after ${limit}s"; return 1; }
  done
}

# field KEY TEXT: the value of KEY=value in a line of output ("... p95=1.2 ..." -> 1.2).
field() { sed -nE "s/.*[ ]$1=([-0-9.]+).*/\\1/p" <<<"$2" | head -1 | grep . || { log "no $1= in: $2"; return 1; }; }

# report PEER METRIC KEY TEXT UNIT: the RESULT line of KEY=value found in TEXT; fails (and so
# ends the script under set -e) when TEXT has no such value.
report() {
  local v
  v=$(field "$3" "$4") || return 1
  result "$1" "$2" "$v" "$5"
}

# start_redis PORT: a throwaway redis-server on 127.0.0.1:PORT, memory only (no RDB, no AOF),
# as a job queue's broker is usually run for speed.
start_redis() {
  local port=$1
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$RUN_DIR" --logfile "$RUN_DIR/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
  track $!
  wait_port "$port" 20 || { tail -20 "$RUN_DIR/redis.log" >&2; return 1; }
}

# start_pg PORT: a throwaway PostgreSQL 15 cluster with the defaults that matter here (fsync on,
# synchronous_commit on: every commit is durable), trust auth, on 127.0.0.1:PORT only.
# As root the server runs as the user postgres (it refuses to run as root).
start_pg() {
  local port=$1 data=$RUN_DIR/pgdata as=()
  mkdir -p "$data" && chmod 700 "$data"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$data"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$PG_BIN/initdb" -D "$data" --auth=trust -U postgres --no-sync \
    >"$RUN_DIR/initdb.log" 2>&1 || { cat "$RUN_DIR/initdb.log" >&2; return 1; }
  cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 50
shared_buffers = 256MB
CONF
  "${as[@]}" "$PG_BIN/postgres" -D "$data" </dev/null >"$RUN_DIR/pg.log" 2>&1 &
  track $!
  wait_port "$port" 30 || { cat "$RUN_DIR/pg.log" >&2; return 1; }
  # stop the postmaster itself (a child of runuser) with SIGINT: fast shutdown
  track "$(head -1 "$data/postmaster.pid")" INT
  local i
  for i in $(seq 50); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && return 0
    sleep 0.2
  done
  return 1
}
