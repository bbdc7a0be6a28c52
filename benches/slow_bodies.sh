#!/usr/bin/env bash
# A slow-body flood on loopback: N connections each announce a 256 KiB body and send one byte
# every few seconds. Prints the server's RSS before, while held, and after they close, and
# whether /healthz and /v1/route answered while they were held.
#
# Usage: bash benches/slow_bodies.sh [connections] [hold seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${1:-5000}
hold=${2:-15}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release --quiet

work=$(mktemp -d)
port=18095
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

./target/release/veiviser serve --addr 127.0.0.1:$port --data "$work/data" \
  --admin-token slow-body-operator-token-0123 --log-format json 2>"$work/veiviser.log" &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

rss() { awk '/VmRSS/ {print int($2/1024) " MB"}' "/proc/$pid/status"; }
echo "connections=$connections hold=${hold}s"
echo "rss before:  $(rss)"
python3 - "$port" "$connections" "$hold" "$pid" <<'PY'
import asyncio, sys, time, urllib.request
port, n, hold, pid = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
head = (b"POST /v1/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 262144\r\n\r\n{")

def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return f"{int(line.split()[1]) // 1024} MB"

async def slow(results):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(head)
        await w.drain()
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline:
            await asyncio.sleep(3)
            w.write(b" ")
            await w.drain()
            if r.at_eof():
                break
        results["held"] += 1
        w.close()
    except Exception:
        results["cut"] += 1

def probe(path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status == 200
    except Exception:
        return False

async def main():
    results = {"held": 0, "cut": 0}
    tasks = [asyncio.create_task(slow(results)) for _ in range(n)]
    await asyncio.sleep(min(hold / 2, 5))
    loop = asyncio.get_running_loop()
    probes = [await loop.run_in_executor(None, probe, p)
              for p in ["/healthz", "/v1/route?q=jeg%20blir%20mobbet"] * 8]
    print(f"rss during:  {rss()}")
    print(f"probes answered during the flood: {sum(probes)}/{len(probes)}")
    await asyncio.gather(*tasks)
    print(f"slow connections closed by the server: {results['cut']} (the rest ended by the client)")

asyncio.run(main())
PY
sleep 2
echo "rss 2 s after:  $(rss)"
sleep 10
echo "rss 12 s after: $(rss)"
