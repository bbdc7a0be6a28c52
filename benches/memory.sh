#!/usr/bin/env bash
# Resident memory of a release Veiviser with the default catalogue loaded, after a burst of
# reads. Usage: bash benches/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
data=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
./target/release/veiviser serve --addr 127.0.0.1:18089 --data "$data" --admin-token bench-operator-token-0123456789 2>/dev/null &
pid=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18089/readyz >/dev/null && break; sleep 0.1; done
for _ in $(seq 200); do
  curl -sf 'http://127.0.0.1:18089/v1/services?limit=200' >/dev/null
  curl -sf http://127.0.0.1:18089/v1/services/kirkens-sos >/dev/null
done
echo "services loaded: $(curl -sf http://127.0.0.1:18089/readyz)"
grep -E 'VmRSS|VmHWM' /proc/$pid/status
