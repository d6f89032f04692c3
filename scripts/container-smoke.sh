#!/usr/bin/env bash
# The container for real (issue 38): builds the project's Dockerfile with podman on local stand-ins for its base
# images (no image registry is reachable from CI), runs the image as docker-compose.yml does, and checks: ready, one
# real photo, 60 s of mixed load at concurrency 8 under the 1 GiB limit, requests in flight completing after SIGTERM,
# the container's own limits in a second run (issue 39: large videos, a killed decoder, a full /tmp), and the Kubernetes manifests under `podman kube play`. The last line of stdout is one JSON object; exit 0 only when
# every check holds. Runs as root on Debian (CI's machines), installs what it needs, and keeps the stand-in bases in
# podman's storage between runs. Usage: scripts/container-smoke.sh [load seconds, default 60]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
photos="$root/../shared/data/realfaces/images"
port="${FER_SMOKE_PORT:-18080}"
kube_port=$((port + 1))
name=ferservice-smoke
work="$(mktemp -d)"
log() { echo "container-smoke: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
# The stand-in bases and the image build, shared with scripts/proxy-check.sh.
source "$root/scripts/lib/container-image.sh"
cleanup() {
  local status=$?
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  [ ! -f "$work/kube.yaml" ] || podman kube down "$work/kube.yaml" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# podman run's options for the service as docker-compose.yml declares it (environment, read-only root, tmpfs, limits,
# ports), so a change there is what this script runs.
compose_run_args() {
  python3 - "$port" <<'PY'
import sys, yaml
service = yaml.safe_load(open("docker-compose.yml"))["services"]["ferservice"]
args = []
for key, value in service["environment"].items():
    args += ["--env", f"{key}={value}"]
if service.get("read_only"):
    args.append("--read-only")
for mount in service.get("tmpfs", []):
    args += ["--tmpfs", mount]
limits = service["deploy"]["resources"]["limits"]
args += ["--memory", limits["memory"], "--cpus", limits["cpus"]]
for mapping in service["ports"]:
    args += ["--publish", f"{sys.argv[1]}:{mapping.split(':')[-1]}"]
args += ["--stop-timeout", str(int(service["stop_grace_period"].rstrip("s")))]
print("\n".join(args))
PY
}

pid_of() { podman inspect --format '{{.State.Pid}}' "$1"; }

# The container's memory cgroup file $2 (v1 name) or $3 (v2 name), found from its main process.
cgroup_value() {
  local pid="$1" path
  path="$(awk -F: '$2 == "memory" {print $3}' "/proc/$pid/cgroup")"
  if [ -n "$path" ]; then cat "/sys/fs/cgroup/memory$path/$2"
  else path="$(awk -F: '$1 == "0" {print $3}' "/proc/$pid/cgroup")"; cat "/sys/fs/cgroup$path/$3"; fi
}

wait_ready() {   # $1: URL base, $2: seconds; prints the last status
  local status=000
  for _ in $(seq $(($2 * 2))); do
    status="$(curl -s -o "$work/ready.json" -w '%{http_code}' "$1/health/ready" || true)"
    [ "$status" = 200 ] && break
    sleep 0.5
  done
  echo "$status"
}

# --- Test data ----------------------------------------------------------------------------------------------------

# Every real photo with at least one labelled face (sizes from 250 px to 4000 px a side), and a 6-second H.264 video
# made from one of them.
prepare_data() {
  [ -d "$photos" ] || fail "no photos at $photos (the shared data beside the repository)"
  mkdir -p "$work/photos"
  python3 - "$photos" "$work/photos" <<'PY'
import json, os, sys
labels = json.load(open(os.path.join(sys.argv[1], "..", "labels.json")))["images"]
for name, label in sorted(labels.items()):
    if label["min"] >= 1 and label.get("kind") != "drawn" and os.path.exists(os.path.join(sys.argv[1], name)):
        os.symlink(os.path.join(sys.argv[1], name), os.path.join(sys.argv[2], name))
PY
  first_photo="$(find "$work/photos" -name '*.jpg' | sort | head -1)"
  ffmpeg -loglevel fatal -loop 1 -i "$first_photo" -t 6 -r 10 -vf 'scale=640:-2,format=yuv420p' -c:v libx264 \
    "$work/video.mp4"
  # The container's own limits (issue 39): a stream over the pixel limit, a 1080p one, and a minute to kill mid-run.
  local clip name_ size seconds rate
  for clip in big:8192x4320:1:10 hd:1920x1080:6:25 long:640x480:60:10; do
    IFS=: read -r name_ size seconds rate <<<"$clip"
    ffmpeg -loglevel fatal -f lavfi -i "testsrc2=size=$size:rate=$rate:duration=$seconds" -c:v libx264 -preset ultrafast \
      -pix_fmt yuv420p "$work/$name_.mp4"
  done
}

# --- Kubernetes -----------------------------------------------------------------------------------------------------

# What kube play cannot run, checked on paper: the HPA and PDB point at the Deployment, the PDB lets a node drain with
# the HPA at its minimum, the CPU metric has requests to measure against, the grace period outlasts the service's
# shutdown timeout, and the pod runs as the image's user. Writes the runnable manifests to $work/kube.yaml.
kube_on_paper() {
  python3 - "$1" "$work/kube.yaml" "$kube_port" <<'PY'
import glob, sys, yaml
docs = {}
for path in sorted(glob.glob("docker/kubernetes/*.yaml")):
    for doc in yaml.safe_load_all(open(path)):
        docs.setdefault(doc["kind"], []).append(doc)
deployment, = docs["Deployment"]; configmap, = docs["ConfigMap"]; service, = docs["Service"]; pdb, = docs["PodDisruptionBudget"]
pod = deployment["spec"]["template"]
labels = pod["metadata"]["labels"]
container, = pod["spec"]["containers"]
problems = []
for hpa in docs["HorizontalPodAutoscaler"]:
    target = hpa["spec"]["scaleTargetRef"]
    if (target["kind"], target["name"]) != ("Deployment", deployment["metadata"]["name"]):
        problems.append(f"HPA {hpa['metadata']['name']} scales {target}")
    if not 1 < hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]:
        problems.append(f"HPA {hpa['metadata']['name']} replicas {hpa['spec']['minReplicas']}..{hpa['spec']['maxReplicas']}")
    if pdb["spec"]["minAvailable"] >= hpa["spec"]["minReplicas"]:
        problems.append("the PDB's minAvailable blocks every eviction at the HPA's minimum")
    for metric in hpa["spec"]["metrics"]:
        if metric["type"] == "Resource" and metric["resource"]["name"] not in container["resources"]["requests"]:
            problems.append(f"HPA on {metric['resource']['name']} without a request for it")
if any(labels.get(k) != v for k, v in pdb["spec"]["selector"]["matchLabels"].items()):
    problems.append("the PDB selects no pod of the Deployment")
if any(labels.get(k) != v for k, v in service["spec"]["selector"].items()):
    problems.append("the Service selects no pod of the Deployment")
h, m, s = configmap["data"]["Fer__Limits__ShutdownTimeout"].split(":")
if pod["spec"]["terminationGracePeriodSeconds"] <= int(h) * 3600 + int(m) * 60 + float(s):
    problems.append("terminationGracePeriodSeconds does not outlast Fer__Limits__ShutdownTimeout")
if str(pod["spec"]["securityContext"]["runAsUser"]) != sys.argv[1]:
    problems.append(f"runAsUser {pod['spec']['securityContext']['runAsUser']} is not the image's user {sys.argv[1]}")
if problems:
    sys.exit("kube: " + "; ".join(problems))
# podman publishes each containerPort on the host: one replica, on a port of our choosing.
deployment["spec"]["replicas"] = 1
container["ports"][0]["hostPort"] = int(sys.argv[3])
yaml.safe_dump_all([configmap, deployment, service], open(sys.argv[2], "w"))
PY
}

kube_play() {
  podman kube down "$work/kube.yaml" >/dev/null 2>&1 || true
  podman kube play "$work/kube.yaml" >"$work/kube.log" 2>&1 || { cat "$work/kube.log" >&2; fail "podman kube play"; }
  local status
  status="$(wait_ready "http://127.0.0.1:$kube_port" 120)"
  [ "$status" = 200 ] || { podman pod ps >&2; podman ps -a >&2; fail "the pod's /health/ready answered $status"; }
  podman kube down "$work/kube.yaml" >/dev/null
  echo ready
}

# --- The run ------------------------------------------------------------------------------------------------------

install_tools ffmpeg python3-yaml
prepare_data
image="$(build_image)"
image_id="$(podman image inspect --format '{{.Id}}' "$image")"
image_mib=$(( $(podman image inspect --format '{{.Size}}' "$image") / 1048576 ))
log "image ${image_id:0:12}, $image_mib MiB"
# linux-x64's native libraries only: a publish without a runtime identifier once put every platform's in (1.1 GB).
image_root="$(podman image mount "$image")"
foreign="$(ls "$image_root/app/runtimes" 2>/dev/null | grep -v '^linux-x64$' || true)"
# Without its font the annotate endpoint silently draws boxes without labels.
font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
[ -f "$image_root$font" ] || foreign+=" (and no $font)"
podman image unmount "$image" >/dev/null
[ -z "$foreign" ] && [ "$image_mib" -le 600 ] || fail "image of $image_mib MiB, native libraries for: $foreign"

podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
mapfile -t run_args < <(compose_run_args)
# --ulimit host: see install_tools (scripts/lib/container-image.sh); the image's own user (USER $APP_UID), as compose runs it.
# --no-healthcheck: podman runs a HEALTHCHECK on systemd timers, which CI lacks; the image's own is run once below.
podman run -d --name "$name" --ulimit host --no-healthcheck "${run_args[@]}" "$image" >/dev/null
url="http://127.0.0.1:$port"
ready="$(wait_ready "$url" 120)"
[ "$ready" = 200 ] || { podman logs "$name" 2>&1 | tail -30 >&2; fail "/health/ready answered $ready"; }
python3 -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["checks"]["models"]["data"]["video"])' \
  "$work/ready.json" || fail "ready without video support (ffmpeg in the image): $(cat "$work/ready.json")"
pid="$(pid_of "$name")"
user="$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")"
[ "$user" != 0 ] || fail "the service runs as root"
read_only="$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$name")"
awk '$5 == "/" {print $6}' "/proc/$pid/mountinfo" | grep -q '^ro' || fail "the root file system is writable"
mem_limit_mib=$(( $(cgroup_value "$pid" memory.limit_in_bytes memory.max) / 1048576 ))
mapfile -t health < <(podman image inspect --format '{{range .HealthCheck.Test}}{{println .}}{{end}}' "$image" | sed '/^$/d')
[ "${health[0]:-}" = CMD ] && podman exec "$name" "${health[@]:1}" >/dev/null \
  || fail "the image's HEALTHCHECK (${health[*]}) failed"

faces="$(curl -fsS -F "images=@$first_photo" "$url/api/emotions" \
  | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["images"][0]["faces"]))')"
# Boxes and labels drawn (the label font is checked in the image above).
[ "$(curl -s -o "$work/annotated" -w '%{http_code} %{content_type}' -F "image=@$first_photo" "$url/api/emotions/annotate")" \
  = "200 image/png" ] || fail "annotate: $(tr -d '\0' <"$work/annotated" | head -c 300)"
log "$faces face(s) in $(basename "$first_photo"), annotated; $seconds s of load at concurrency 8"
python3 scripts/container-load.py load "$url" "$seconds" "$work/photos" "$work/video.mp4" >"$work/load.json"
cat "$work/load.json" >&2
[ "$(podman inspect --format '{{.State.Running}} {{.State.OOMKilled}}' "$name")" = "true false" ] \
  || fail "the container died under load"
peak_bytes="$(cgroup_value "$pid" memory.max_usage_in_bytes memory.peak)"
peak_mib="$(python3 -c 'import sys; print(round(int(sys.argv[1]) / 1048576, 1))' "$peak_bytes")"

log "SIGTERM with requests in flight"
python3 scripts/container-load.py drain "$url" "$work/photos" "$work/video.mp4" "$name" >"$work/drain.json"
cat "$work/drain.json" >&2
exit_code="$(podman wait "$name")"
[ "$exit_code" = 0 ] || { podman logs "$name" 2>&1 | tail -30 >&2; fail "exit code $exit_code after SIGTERM"; }
podman logs "$name" >"$work/service.log" 2>&1
podman rm "$name" >/dev/null
# Nothing logged at warning level or above, ONNX Runtime's own lines included (its telemetry once warned here).
if grep -E '^\[[0-9:]+ (WRN|ERR|FTL)\]|\[[WEF]:onnxruntime' "$work/service.log" >&2; then fail "warnings in the service's log"; fi

log "the container's own limits: 8 + 8 large videos, a decoder killed, /tmp full"
podman run -d --name "$name" --ulimit host --no-healthcheck "${run_args[@]}" "$image" >/dev/null
ready_limits="$(wait_ready "$url" 120)"
[ "$ready_limits" = 200 ] || { podman logs "$name" 2>&1 | tail -30 >&2; fail "/health/ready answered $ready_limits (second run)"; }
limits_pid="$(pid_of "$name")"
python3 scripts/container-load.py limits "$url" "$work/big.mp4" "$work/hd.mp4" "$work/long.mp4" "$limits_pid" >"$work/limits.json"
cat "$work/limits.json" >&2
[ "$(podman inspect --format '{{.State.Running}} {{.State.OOMKilled}}' "$name")" = "true false" ] \
  || fail "the container died under large videos"
limits_peak_mib="$(python3 -c 'import sys; print(round(int(sys.argv[1]) / 1048576, 1))' \
  "$(cgroup_value "$limits_pid" memory.max_usage_in_bytes memory.peak)")"
podman rm -f -t 5 "$name" >/dev/null

log "Kubernetes manifests"
kube_on_paper "$user"
kube="$(kube_play)"

python3 - "$image_id" "$user" "$read_only" "$ready" "$faces" "$work/load.json" "$peak_mib" "$mem_limit_mib" \
  "$work/drain.json" "$kube" "$work/limits.json" "$limits_peak_mib" <<'PY'
import json, sys
image, user, read_only, ready, faces, load, peak, limit, drain, kube, limits, limits_peak = sys.argv[1:]
load, drain, limits = json.load(open(load)), json.load(open(drain)), json.load(open(limits))
result = {"image": image, "user": int(user), "readOnly": read_only == "true", "ready": int(ready), "faces": int(faces),
          "load": {"requests": load["requests"], "non200": load["non200"], "peakMiB": float(peak), "memLimitMiB": int(limit)},
          "drain": {"inFlight": drain["inFlight"], "completed": drain["completed"]}, "kube": kube,
          "limits": dict(limits, peakMiB=float(limits_peak))}
ok = (result["user"] != 0 and result["readOnly"] and result["ready"] == 200 and result["faces"] >= 1
      and load["requests"] > 0 and load["non200"] == 0 and float(peak) < int(limit) == 1024
      and 0 < drain["inFlight"] == drain["completed"] and kube == "ready" and limits["ok"] and float(limits_peak) < int(limit))
print(json.dumps(result))
sys.exit(0 if ok else 1)
PY
