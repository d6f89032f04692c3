#!/usr/bin/env bash
# Bounded load test on loopback: measures the service's capacity, then offers 4× that rate for 60 s and reports
# requests served, 503s, other non-2xx (must be 0), p99 latency of the served ones, and RSS before/after.
# Usage: scripts/load.sh [seconds, default 60]; FER_LOAD_WARMUP=seconds of overload before RSS is read (default 300).
# Soak: scripts/load.sh --soak [seconds, default 600] runs honest clients (hey, 8 in a closed loop) beside hostile ones
# (scripts/soak-traffic.py: 8 loops declaring 20 MiB bodies and sending 32 small parts, hang-ups, broken framing and
# charsets, corrupt images, 4 loops of stalled WebSocket frames) and 30 uploads at 300 B/s, under a 768 MiB GC heap limit (what .NET sets in the compose file's 1 GiB
# container; FER_LOAD_HEAP_LIMIT overrides it, in bytes as hex), and prints every 10 s RSS, GC heap, buffered upload
# bytes and the 500s so far; it fails on any 500 or any error line in the service's log.
# Needs hey (Debian: apt-get install hey) and python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
soak=false
heap_limit=""
if [ "${1:-}" = "--soak" ]; then
  soak=true
  shift
  heap_limit="${FER_LOAD_HEAP_LIMIT:-0x30000000}"
fi
seconds="${1:-$($soak && echo 600 || echo 60)}"
port="${FER_LOAD_PORT:-18080}"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
command -v hey >/dev/null || { echo "load: hey not found (apt-get install hey)." >&2; exit 1; }

dotnet build -c Release "$root/src/FerService.Api" -v q -nologo >/dev/null
env ${heap_limit:+DOTNET_GCHeapHardLimit=$heap_limit} dotnet "$root/src/FerService.Api/bin/Release/net10.0/FerService.Api.dll" --urls "http://127.0.0.1:$port" >"$work/service.log" 2>&1 &
pid=$!
for _ in $(seq 120); do
  curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null || { echo "load: service did not become ready" >&2; cat "$work/service.log" >&2; exit 1; }

# A 640×480 photo-like PNG (gradient + noise), as one multipart part; and a 48×36 one for the slow uploads of --soak.
for size in "640 480 body" "48 36 small"; do
python3 - "$work" $size <<'PY'
import random, struct, sys, zlib
w, h = int(sys.argv[2]), int(sys.argv[3])
random.seed(7)
rows = []
for y in range(h):
    row = bytearray([0])
    for x in range(w):
        n = random.randrange(-20, 21)
        row += bytes((max(0, min(255, x * 255 // w + n)), max(0, min(255, y * 255 // h + n)), max(0, min(255, 128 + n))))
    rows.append(bytes(row))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")
body = (b"--loadboundary\r\nContent-Disposition: form-data; name=\"image\"; filename=\"load.png\"\r\nContent-Type: image/png\r\n\r\n"
        + png + b"\r\n--loadboundary--\r\n")
open(f"{sys.argv[1]}/{sys.argv[4]}.bin", "wb").write(body)
PY
done
post=(-m POST -T "multipart/form-data; boundary=loadboundary" -D "$work/body.bin" "http://127.0.0.1:$port/api/emotions")
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
# Managed heap after the last GC (all generations) and thread-pool threads, from /metrics: if RSS climbs while these
# stay flat, the growth is native (allocator, ONNX Runtime, Skia), not a managed leak.
runtime() {
  { curl -fs -m 5 "http://127.0.0.1:$port/metrics" || true; } | awk '
    /^dotnet_gc_last_collection_heap_size_bytes\{/ { heap += $NF }
    /^dotnet_thread_pool_thread_count(_total)?[ {]/ { threads = $NF }
    END { if (threads == "") print "n/a"; else printf "%d/%d", heap / 1048576, threads }'
}

if $soak; then
  # Responses with status 500 so far, from the server's own request metrics (every route).
  errors500() {
    { curl -fs -m 5 "http://127.0.0.1:$port/metrics" || true; } | awk '
      /^http_server_request_duration_seconds_count\{/ && /http_response_status_code="500"/ { n += $NF }
      END { printf "%d", n }'
  }
  buffered() {
    { curl -fs -m 5 "http://127.0.0.1:$port/metrics" || true; } | awk '/^fer_uploads_buffered_bytes[ {]/ { printf "%d", $NF / 1048576 }'
  }
  python3 "$root/scripts/soak-traffic.py" 127.0.0.1 "$port" "$seconds" "$work/body.bin" "$work/small.bin" 30 >"$work/hostile.txt" &
  traffic_pid=$!
  hey -z "${seconds}s" -c 8 -t 60 -o csv "${post[@]}" >"$work/honest.csv" &
  hey_pid=$!
  echo "time_s rss_mib gc_heap_mib/threads buffered_upload_mib responses_500"
  start=$(date +%s)
  while kill -0 "$hey_pid" 2>/dev/null; do
    sleep 10
    echo "$(( $(date +%s) - start )) $(( $(rss) / 1024 )) $(runtime) $(buffered) $(errors500)"
  done
  wait "$hey_pid"
  wait "$traffic_pid"
  cat "$work/hostile.txt"
  python3 - "$work/honest.csv" <<'PY'
import collections, csv, sys
counts = collections.Counter(int(row["status-code"]) for row in csv.DictReader(open(sys.argv[1])))
total = sum(counts.values())
print(f"honest (8 closed-loop clients): {total} requests, " + ", ".join(f"{s} x{n}" for s, n in sorted(counts.items()))
      + f"; {100 * counts[200] / max(total, 1):.1f} % 200")
PY
  served500=$(errors500)
  error_lines=$(grep -c ' ERR\]' "$work/service.log" || true)
  echo "500 responses (all routes, from /metrics): $served500; error lines in the service log: $error_lines"
  grep ' ERR\]' "$work/service.log" | head -5 || true
  [ "$served500" = 0 ] && [ "$error_lines" = 0 ]
  exit
fi

# Warm-up and capacity: as many requests as two closed-loop clients get through in 15 s.
hey -z 15s -c 2 "${post[@]}" >"$work/capacity.txt"
capacity=$(awk '/Requests\/sec/ {print $2}' "$work/capacity.txt")
rate=$(python3 -c "print(4 * $capacity)")
workers=240
per_worker=$(python3 -c "print(round($rate / $workers, 4))")
# Warm-up under the same overload, so pools, threads and heaps reach their working size before RSS is read; growth
# after that is what a leak would show. A 10-minute run (`scripts/load.sh 600`) after 40 s of warm-up climbed for
# ~4 minutes (393 → 475 MiB) and then stayed between 462 and 492 MiB for 6 minutes, the GC heap flat at 205–238 MiB:
# hence 300 s (FER_LOAD_WARMUP overrides it).
warmup="${FER_LOAD_WARMUP:-300}"
rss_idle=$(rss)
hey -z "${warmup}s" -c "$workers" -q "$per_worker" -t 60 "${post[@]}" >/dev/null
rss_before=$(rss)
hey -z "${seconds}s" -c "$workers" -q "$per_worker" -t 60 -o csv "${post[@]}" >"$work/load.csv" &
hey_pid=$!
# RSS every 10 s of the run: a leak climbs steadily, a heap settling to its working size levels off.
series=""
managed=""
while kill -0 "$hey_pid" 2>/dev/null; do
  sleep 10
  if kill -0 "$hey_pid" 2>/dev/null; then
    series="$series $(( $(rss) / 1024 ))"
    managed="$managed $(runtime)"
  fi
done
wait "$hey_pid"
rss_after=$(rss)

python3 - "$work/load.csv" "$capacity" "$rate" "$seconds" "$rss_before" "$rss_after" "$rss_idle" "$series" "$managed" "$warmup" <<'PY'
import csv, sys
path, capacity, rate, seconds, before, after, idle = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
series, managed, warmup = sys.argv[8].split(), sys.argv[9].split(), sys.argv[10]
served, overloaded, other, latencies = 0, 0, 0, []
for row in csv.DictReader(open(path)):
    status = int(row["status-code"])
    if status == 200:
        served += 1
        latencies.append(float(row["response-time"]))
    elif status == 503:
        overloaded += 1
    else:
        other += 1
latencies.sort()
p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else float("nan")
growth = (after - before) / before * 100
print(f"capacity {capacity:.1f} req/s; offered {rate:.1f} req/s for {seconds} s")
print(f"served {served}, 503 {overloaded}, other non-2xx {other}, p99 of served {p99 * 1000:.0f} ms")
print(f"RSS idle {idle / 1024:.0f} MiB; after a {warmup} s overload warm-up {before / 1024:.0f} MiB; after the run {after / 1024:.0f} MiB ({growth:+.1f} %)")
print(f"RSS every 10 s during the run (MiB): {' '.join(series)}")
print(f"GC heap after the last collection (MiB) / thread-pool threads, same times: {' '.join(managed)}")
sys.exit(1 if other else 0)
PY
