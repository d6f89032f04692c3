#!/usr/bin/env bash
# What the Dockerfile's build and runtime stages do, without a container engine: the same publish command into a
# folder (models and licences in it), then the published app started from there as the container starts it (port
# 8080, read-only models, temp dir override, probe mode for health), one image posted and its JSON checked, SIGTERM
# and a clean exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/artifacts/publish}"
tmp="$(mktemp -d)"
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true; chmod -R u+w "$out" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# On paper: every project the Api builds from is copied into both Dockerfiles' build stage (restore layer and sources).
projects() { grep -o 'Include="[^"]*\.csproj"' "$1" | sed 's/Include="//; s/"$//' | while read -r ref; do
  dir="$(cd "$(dirname "$1")/$(dirname "$ref")" && pwd)"; echo "${dir#"$root"/}"; projects "$dir/$(basename "$ref")"; done; }
for project in src/FerService.Api $(projects "$root/src/FerService.Api/FerService.Api.csproj" | sort -u); do
  for dockerfile in Dockerfile docker/Dockerfile.gpu; do
    name="$(basename "$project")"
    grep -qx "COPY $project/$name.csproj $project/" "$root/$dockerfile" && grep -qx "COPY $project/ $project/" "$root/$dockerfile" \
      || { echo "container-check: $dockerfile does not copy $project" >&2; exit 1; }
  done
done

rm -rf "$out"
dotnet publish "$root/src/FerService.Api/FerService.Api.csproj" -c Release -r linux-x64 --self-contained false -o "$out"
for file in models/emotion-fer2013.onnx models/emotion-fer2013.json models/emotion-fer2013-int8.onnx models/emotion-fer2013-int8.json \
    models/yunet_n_dynamic.onnx models/YUNET-LICENSE.txt LICENSE THIRD-PARTY-NOTICES; do
  [ -f "$out/$file" ] || { echo "container-check: $file missing from the publish output" >&2; exit 1; }
done
chmod -R a-w "$out/models"

cd "$out"
ASPNETCORE_HTTP_PORTS=8080 TMPDIR="$tmp" DOTNET_gcServer=1 dotnet FerService.Api.dll >"$tmp/service.log" 2>&1 &
pid=$!
for _ in $(seq 120); do
  dotnet FerService.Api.dll --probe http://localhost:8080/health/ready 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "container-check: the app exited early" >&2; cat "$tmp/service.log" >&2; exit 1; }
  sleep 0.5
done
dotnet FerService.Api.dll --probe http://localhost:8080/health/ready || { echo "container-check: not ready" >&2; cat "$tmp/service.log" >&2; exit 1; }

# One image through the whole pipeline: a generated 64×64 grey PNG, classified as a whole.
python3 - "$tmp/face.png" <<'PY'
import struct, sys, zlib
w = h = 64
raw = b"".join(b"\x00" + bytes((x * 4 + y) % 256 for x in range(w)) for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
curl -fsS -F "image=@$tmp/face.png" "http://localhost:8080/api/emotions?detect=false" >"$tmp/response.json"
python3 - "$tmp/response.json" <<'PY'
import json, sys
body = json.load(open(sys.argv[1]))
labels = body["model"]["labels"]
assert labels == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"], labels
face = body["images"][0]["faces"][0]
assert abs(sum(face["emotions"].values()) - 1) < 0.01, face
assert face["dominantEmotion"] in labels
print("container-check: response ok:", face["dominantEmotion"])
PY

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || { echo "container-check: exit code $status after SIGTERM" >&2; cat "$tmp/service.log" >&2; exit 1; }
echo "container-check: clean exit after SIGTERM"
