#!/usr/bin/env bash
# Fuzzes the untrusted-bytes path (format sniffing → header limits → decode → EXIF → detect) with AFL++ and
# SharpFuzz. Usage: scripts/fuzz.sh [seconds, default 600] [decode|upload]: upload fuzzes the upload reader (multipart and
# JSON bodies) instead. Needs afl++ (Debian: apt-get install afl++); the
# SharpFuzz instrumentation tool is installed into artifacts/fuzz/tools with `dotnet tool install`.
# A crash lands in artifacts/fuzz/findings/default/crashes/; copy it to tests/FerService.Fuzz/findings/ and the
# FuzzSmokeTests run it (and its mutations) on every test run from then on.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-600}"
target="${2:-decode}"
out="$root/artifacts/fuzz"

command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz not found; install AFL++ (apt-get install afl++)." >&2; exit 1; }
[ -x "$out/tools/sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$out/tools"

rm -rf "$out/bin"
dotnet publish "$root/tests/FerService.Fuzz" -c Release -o "$out/bin"
# Instrument our managed code for AFL's coverage feedback (Skia's native decoders are exercised, not instrumented).
"$out/tools/sharpfuzz" "$out/bin/FerService.Inference.dll"
"$out/tools/sharpfuzz" "$out/bin/FerService.Api.dll"
rm -rf "$out/seeds"
if [ "$target" = upload ]; then
  dotnet "$out/bin/FerService.Fuzz.dll" --seeds "$out/seeds" upload
  export FER_FUZZ_TARGET=upload
else
  dotnet "$out/bin/FerService.Fuzz.dll" --seeds "$out/seeds"
  if [ -d "$root/tests/FerService.Fuzz/findings" ]; then cp "$root/tests/FerService.Fuzz/findings/"* "$out/seeds/" 2>/dev/null || true; fi
fi

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
timeout --preserve-status "$seconds" afl-fuzz -i "$out/seeds" -o "$out/findings-$target" -t 10000 -m none -- dotnet "$out/bin/FerService.Fuzz.dll" || true
crashes=$(find "$out/findings-$target" -path '*crashes/id:*' 2>/dev/null | wc -l)
echo "fuzz: $target, ${seconds}s, ${crashes} crashing inputs (see $out/findings-$target)"
[ "$crashes" = 0 ]
