#!/usr/bin/env bash
# POST /v1/route over HTTP on loopback, side by side with nginx serving a static file of the
# same size as the answer: requests per second and p99 latency for both, from wrk.
#
# Usage: bash benches/route_load.sh [seconds] [connections]
# Installs wrk and nginx-light from Debian when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-64}

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q wrk nginx-light >/dev/null
fi
cargo build --release --quiet

work=$(mktemp -d)
veiviser_port=18091
nginx_port=18092
cleanup() {
  [ -n "${veiviser_pid:-}" ] && kill "$veiviser_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

./target/release/veiviser serve --addr 127.0.0.1:$veiviser_port --data "$work/data" \
  --admin-token load-test-operator-token-0123 --log-format json 2>"$work/veiviser.log" &
veiviser_pid=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$veiviser_port/readyz >/dev/null && break; sleep 0.1; done

body='{"q": "jeg blir mobbet på skolen", "age": 14, "municipality": "4601", "at": "2026-11-24T13:00:00Z"}'
mkdir -p "$work/www"
curl -sf -X POST -H 'content-type: application/json' -d "$body" \
  http://127.0.0.1:$veiviser_port/v1/route >"$work/www/route.json"
size=$(wc -c <"$work/www/route.json")

cat >"$work/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  client_body_temp_path $work/tmp;
  proxy_temp_path $work/tmp;
  fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp;
  scgi_temp_path $work/tmp;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
  }
}
CONF
mkdir -p "$work/tmp"
# nginx's workers run as www-data; mktemp's directory is root's alone (0700).
chmod 755 "$work" "$work/www"
chmod 644 "$work/www/route.json"
nginx -c "$work/nginx.conf"
for _ in $(seq 50); do curl -sf http://127.0.0.1:$nginx_port/route.json >/dev/null && break; sleep 0.1; done
# The comparison only means something if nginx serves the very same bytes.
curl -sf http://127.0.0.1:$nginx_port/route.json | cmp -s - "$work/www/route.json" || {
  echo "nginx does not serve the answer file:"; tail -5 "$work/nginx-error.log"; exit 1
}

cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body   = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA

# wrk counts an error page as a request like any other: any non-2xx answer fails the run.
summary() {
  awk '/Requests\/sec/ {rps=$2} / 99%/ {p99=$2} /Non-2xx/ {bad=$NF}
       /Socket errors/ {errors=$0}
       END {
         if (bad > 0) { print "non-2xx answers: " bad > "/dev/stderr"; exit 1 }
         printf "%s requests/s, p99 %s%s\n", rps, p99, errors ? " (" errors ")" : ""
       }'
}
echo "answer size: $size bytes; wrk -t2 -c$connections -d${seconds}s on 2 cores shared with the servers"
veiviser=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" \
  http://127.0.0.1:$veiviser_port/v1/route | summary)
echo "veiviser POST /v1/route: $veiviser"
nginx=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency http://127.0.0.1:$nginx_port/route.json | summary)
echo "nginx static file:       $nginx"
v=${veiviser%% *}; n=${nginx%% *}
awk -v v="$v" -v n="$n" 'BEGIN {printf "veiviser / nginx: %.2f\n", v / n}'
