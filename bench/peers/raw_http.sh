#!/usr/bin/env bash
# Peer "raw", HTTP ceiling: Debian's nginx with 1 worker process serving a ~100-byte JSON file to
# wrk with 1 thread and 32 keep-alive connections for DUR s (2 cores: one each).
#   nginx_keepalive         req/s
#   nginx_keepalive_p99_ms  wrk's latency p99
# A static file from the page cache is the least an HTTP server can do per request; sked's B8
# (GET of a run's JSON over keep-alive) does the same HTTP work plus routing, auth and a store
# read, so this is its ceiling on this machine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
peer_init raw_http
DUR=${DUR:-5}

need_deb python3 nginx wrk
PORT=$(free_port)
mkdir -p "$RUN_DIR/www" "$RUN_DIR/tmp"
printf '{"id":12345,"queue":"default","task":"noop","status":"succeeded","exit_code":0,"ok":true}\n' \
  >"$RUN_DIR/www/job.json"
cat >"$RUN_DIR/nginx.conf" <<CONF
worker_processes 1;
pid $RUN_DIR/nginx.pid;
error_log $RUN_DIR/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $RUN_DIR/tmp/body;
  proxy_temp_path $RUN_DIR/tmp/proxy;
  fastcgi_temp_path $RUN_DIR/tmp/fastcgi;
  uwsgi_temp_path $RUN_DIR/tmp/uwsgi;
  scgi_temp_path $RUN_DIR/tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$PORT;
    root $RUN_DIR/www;
    default_type application/json;
  }
}
CONF
# -e: nginx 1.22 opens its default error log before reading the configuration
nginx -e "$RUN_DIR/error.log" -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -g 'daemon off;' </dev/null >&2 &
track $!
wait_port "$PORT" 10
version raw "nginx $(debver nginx), wrk $(debver wrk)"
timeout 10 wrk -t1 -c1 -d1s "http://127.0.0.1:$PORT/job.json" >/dev/null   # warm-up

out=$(timeout 60 wrk -t1 -c32 -d"${DUR}s" --latency "http://127.0.0.1:$PORT/job.json")
if grep -q 'Non-2xx' <<<"$out"; then
  log "$out"
  tail -5 "$RUN_DIR/error.log" >&2
  die "nginx answered with errors (its error.log is above)"
fi
rps=$(sed -nE 's/^Requests\/sec:[[:space:]]+([0-9.]+).*/\1/p' <<<"$out")
# wrk prints the p99 with a unit (us, ms or s)
p99=$(awk '$1 == "99%" { v = $2
  if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) }
  else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
  printf "%.3f\n", v }' <<<"$out")
log "  nginx keep-alive: $rps req/s, p99 $p99 ms"
if [ -z "$rps" ] || [ -z "$p99" ]; then
  log "$out"
  die "could not read wrk's output (above)"
fi
result raw nginx_keepalive "$rps" req/s
result raw nginx_keepalive_p99_ms "$p99" ms
