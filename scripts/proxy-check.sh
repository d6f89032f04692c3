#!/usr/bin/env bash
# The service behind a real reverse proxy: Debian's nginx (installed when missing) on loopback with
# docker/nginx.conf (ports and temporary paths rewritten), in front of two containers of the project's image under
# /fer/ (built as scripts/container-smoke.sh builds it, scripts/lib/container-image.sh: after that script, or a run
# before, podman's layer cache makes the build a few seconds). First the CORS preflight, the stream WebSocket's Origin
# check, the prefix and the forwarded client address are checked through the proxy; then SECONDS (default 60) of load
# at concurrency 8 (photos, one video loop, one WebSocket stream); at a third of it one replica is SIGKILLed
# (`podman kill -s KILL`), and it is started again (`podman start`) after the proxy's check interval (fail_timeout, 5 s).
#
# Every request is accounted for: 200, or a failure the client can act on (503 with Retry-After, 502, a stream cut
# by its replica's death, which the client reopens), none without an answer within its timeout ("hung"). After the
# check interval no request may end on the dead replica ("routedToDeadAfterCheck", from nginx's log of upstreams).
# Exits 0 when all of that holds; the last line is JSON:
# {"requests": n, "ok": n, "failed": {"502": n, "503": n}, "hung": 0, "killedAt": s, "backAt": s,
#  "routedToDeadAfterCheck": 0, "cors": "ok", "prefix": "ok", "forwarded": "ok", "retried": n}
# ("retried": requests nginx passed on to the other replica after the dead one failed them: in flight at the kill, or
# its passive re-checks of the dead one).
# Runs as root on Debian (CI's machines) and installs what it needs (nginx, ffmpeg, podman and its helpers).
# Usage: scripts/proxy-check.sh [seconds].
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
check_interval=5
origin="http://app.example.test"
replicas=(ferservice-proxy-1 ferservice-proxy-2)
work="$(mktemp -d)"
chmod 755 "$work"   # nginx workers run as an unprivileged user under root
log() { echo "proxy-check: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
# The stand-in bases and the image build, shared with scripts/container-smoke.sh.
source "$root/scripts/lib/container-image.sh"
nginx_pid=
cleanup() {
  local status=$?
  [ -z "$nginx_pid" ] || kill "$nginx_pid" 2>/dev/null || true
  podman rm -f -t 0 "${replicas[@]}" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

install_tools nginx ffmpeg
nginx="$(command -v nginx || echo /usr/sbin/nginx)"
image="$(build_image)"

free_ports() { python3 -c 'import socket
s = [socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*[x.getsockname()[1] for x in s])'; }
read -r proxy_port port1 port2 < <(free_ports)
ports=("$port1" "$port2")

# Replica $1 (0 or 1) on its port, as docker-compose.yml runs the image (read-only root, /tmp in memory, 1 GiB).
# --network host: each replica listens on the host's loopback, where nginx.conf's upstream names it, and sees nginx's
# connections from 127.0.0.1, the trusted network docs/operations.md gives for nginx on the same host. Published ports
# on podman's bridge would arrive from the bridge's gateway instead (an address that depends on podman's network
# backend and configuration), and loopback-only listening keeps the replicas off the machine's other interfaces.
# ASPNETCORE_HTTP_PORTS is emptied so the image's 8080 does not compete with ASPNETCORE_URLS (a warning otherwise).
# --ulimit host and --no-healthcheck as in scripts/container-smoke.sh.
start_replica() {
  podman rm -f -t 0 "${replicas[$1]}" >/dev/null 2>&1 || true
  podman run -d --name "${replicas[$1]}" --network host --ulimit host --no-healthcheck --read-only \
    --tmpfs /tmp:size=256m --memory 1g --env ASPNETCORE_HTTP_PORTS= --env "ASPNETCORE_URLS=http://127.0.0.1:${ports[$1]}" \
    --env Fer__Proxy__TrustedNetworks__0=127.0.0.1/32 --env "Fer__Cors__AllowedOrigins__0=$origin" "$image" >/dev/null
}
replica_logs() { for replica in "${replicas[@]}"; do podman logs "$replica" 2>&1; done; }
wait_ready() {
  for _ in $(seq 240); do curl -fs -m 2 "http://127.0.0.1:${ports[$1]}/health/ready" >/dev/null 2>&1 && return 0; sleep 0.25; done
  replica_logs >&2; fail "the replica on port ${ports[$1]} did not become ready"
}
start_replica 0
start_replica 1
wait_ready 0
wait_ready 1

mkdir -p "$work/nginx"
sed -e "s|listen 127.0.0.1:8080;|listen 127.0.0.1:$proxy_port;|" -e "s|127.0.0.1:8081 |127.0.0.1:$port1 |" -e "s|127.0.0.1:8082 |127.0.0.1:$port2 |" \
    -e "s|/tmp/fer-nginx|$work/nginx/|" \
    -e "s|access_log off;|log_format upstreams '\$msec \$status \"\$upstream_addr\" \"\$upstream_status\" \$request_uri'; access_log $work/access.log upstreams;|" \
    "$root/docker/nginx.conf" >"$work/nginx.conf"
grep -q "listen 127.0.0.1:$proxy_port;" "$work/nginx.conf" && grep -q "127.0.0.1:$port2 " "$work/nginx.conf" \
  || { echo "proxy-check: docker/nginx.conf no longer has the lines this script rewrites" >&2; exit 1; }
"$nginx" -e stderr -p "$work/nginx" -c "$work/nginx.conf" -g "daemon off;" 2>"$work/nginx.log" &
nginx_pid=$!
proxy="http://127.0.0.1:$proxy_port"
for _ in $(seq 40); do curl -fs -m 2 "$proxy/fer/health/ready" >/dev/null 2>&1 && break; sleep 0.25; done

# CORS: the preflight of a page on the allowed origin, answered through the proxy; and the stream WebSocket opened
# by a page on the proxy's own origin (nginx passes the Host with its port on) and on the allowed one, refused to any
# other (curl waits for frames after a 101 until -m ends it).
cors=failed
preflight="$(curl -s -o /dev/null -D - -X OPTIONS -H "Origin: $origin" -H "Access-Control-Request-Method: POST" "$proxy/fer/api/emotions" | tr -d '\r')"
upgrade() { curl -s -o /dev/null -m 2 -w '%{http_code}' -H "Origin: $1" -H "Connection: Upgrade" -H "Upgrade: websocket" \
  -H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: $(head -c 16 /dev/urandom | base64)" "$proxy/fer/api/emotions/stream" || true; }
sockets="$(upgrade "$proxy") $(upgrade "$origin") $(upgrade http://elsewhere.example.test)"
if ! grep -q "^HTTP/1.1 204" <<<"$preflight" || ! grep -qix "access-control-allow-origin: $origin" <<<"$preflight"; then
  log "the preflight was answered: $preflight"
elif [ "$sockets" != "101 101 403" ]; then log "the stream from its own, the allowed and another origin answered $sockets"
else cors=ok; fi
# Prefix: /fer redirected to /fer/, the page there, and the OpenAPI document naming /fer as its server (grep reads
# all of its input: with pipefail, grep -q leaving early would fail curl).
prefix=failed
redirect="$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$proxy/fer")"
if [ "$redirect" != "301 $proxy/fer/" ]; then echo "proxy-check: /fer answered $redirect" >&2
elif ! curl -fs "$proxy/fer/" | grep '<script src="app.js">' >/dev/null; then echo "proxy-check: no page at /fer/" >&2
elif ! curl -fs "$proxy/fer/swagger/v1/swagger.json" | grep '"url": "/fer"' >/dev/null; then echo "proxy-check: the OpenAPI document does not name /fer" >&2
else prefix=ok; fi
# Forwarded: a client on 127.0.0.3 sending a spoofed X-Forwarded-For; the replica logs the address nginx saw.
forwarded=failed
curl -fs -o /dev/null --interface 127.0.0.3 -H "X-Forwarded-For: 198.51.100.7" "$proxy/fer/api/model" && sleep 1 \
  && replica_logs >"$work/replicas.log" && grep -qE "GET /api/model responded 200 in [0-9.]+ ms from 127\.0\.0\.3" "$work/replicas.log" \
  && ! grep -q "198.51.100.7" "$work/replicas.log" && forwarded=ok

# Load: photos (640×480), one 3-s video loop and one stream of 320×240 frames.
python3 - "$work" <<'PY'
import random, struct, sys, zlib
def png(w, h, path):
    random.seed(7)
    rows = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 255 // w, y * 255 // h, 128 + random.randrange(-20, 21))) for y in range(h))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
png(640, 480, f"{sys.argv[1]}/photo.png")
png(320, 240, f"{sys.argv[1]}/frame.png")
PY
ffmpeg -loglevel error -f lavfi -i testsrc=size=320x240:rate=10 -t 3 -c:v mpeg4 -y "$work/clip.mp4"
t0="$(date +%s.%N)"
python3 "$root/scripts/proxy-traffic.py" 127.0.0.1 "$proxy_port" /fer "$seconds" 8 "$work/photo.png" "$work/frame.png" "$work/clip.mp4" "$work/records.jsonl" &
traffic=$!
sleep "$(python3 -c "print($seconds / 3)")"
podman kill -s KILL "${replicas[0]}" >/dev/null
killed="$(date +%s.%N)"
sleep "$check_interval"
podman start "${replicas[0]}" >/dev/null
restarted="$(date +%s.%N)"
wait_ready 0
back="$(date +%s.%N)"
wait "$traffic"

python3 - "$work" "$t0" "$killed" "$restarted" "$back" "$check_interval" "$port1" "$cors" "$prefix" "$forwarded" <<'PY'
import collections, json, re, sys
work, t0, killed, restarted, back, interval = sys.argv[1], *map(float, sys.argv[2:7])
dead, checks = f"127.0.0.1:{sys.argv[7]}", dict(zip(["cors", "prefix", "forwarded"], sys.argv[8:11]))
records = [json.loads(line) for line in open(f"{work}/records.jsonl")]
failed = collections.Counter(str(r["status"]) for r in records if r["status"] != 200)
hung = failed.pop("hung", 0)
# Requests whose last upstream was the dead replica, logged after the check interval and before it was started again.
# And those nginx passed on to the other replica after the dead one failed them (in flight at the kill, or probes).
routed = retried = 0
for line in open(f"{work}/access.log"):
    m = re.match(r'(\S+) (\d+) "([^"]*)" "([^"]*)"', line)
    if m and killed + interval <= float(m[1]) < restarted and m[3].split(", ")[-1].split(" : ")[-1] == dead:
        routed += 1
    if m and float(m[1]) >= killed and ", " in m[3]:
        retried += 1
unanswerable = [s for s in failed if s not in ("502", "503", "closed")]
no_retry_after = sum(1 for r in records if r["status"] == 503 and not r["retryAfter"])
summary = {"requests": len(records), "ok": len(records) - sum(failed.values()) - hung, "failed": {"502": failed.pop("502", 0), "503": failed.pop("503", 0), **failed},
           "hung": hung, "killedAt": round(killed - t0, 1), "backAt": round(back - t0, 1), "routedToDeadAfterCheck": routed, **checks, "retried": retried}
problems = []
if unanswerable: problems.append(f"failures a client cannot act on: {unanswerable}")
if no_retry_after: problems.append(f"{no_retry_after} 503s without Retry-After")
if hung: problems.append(f"{hung} requests hung")
if routed: problems.append(f"{routed} requests ended on the dead replica after the check interval")
if summary["ok"] == 0: problems.append("nothing answered 200")
if any(check != "ok" for check in checks.values()): problems.append(f"checks: {checks}")
by_kind = collections.Counter((r["kind"], str(r["status"])) for r in records)
print("proxy-check:", ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(by_kind.items())), file=sys.stderr)
for problem in problems: print("proxy-check:", problem, file=sys.stderr)
print(json.dumps(summary))
sys.exit(1 if problems else 0)
PY
