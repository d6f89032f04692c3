#!/usr/bin/env bash
# One command for the performance numbers (issue: benchmark harness). Loopback only, bounded time (~4 min with the
# defaults): builds Release, then
#   macro: the bare pipeline in process vs the service over HTTP (its own process, real Kestrel) at concurrency 1, 4, 8
#          and 16 on the same JPEG scenes (--scenes mixed: 640x480 to 1280x720 with 0-4 FER2013 faces, the default;
#          --scenes vga: 640x480 with 1-4 faces): images/s, p50/p95/p99, mean ms per stage, service/bare ratio,
#          classifier batch sizes, RSS, bytes allocated per image, 16 faces batched vs one by one, and CPU by stage;
#   micro: BenchmarkDotNet with MemoryDiagnoser: decode, detector preprocessing and the whole detector, alignment,
#          classifier at batch 1/8/32 (float32 and int8 models), one whole image through the pipeline.
# Usage: tests/FerService.Benchmarks/run.sh [macro|micro|all, default all] [macro options, e.g. --seconds 10
#        --detector-side 480 --min-score 0.6 --classifier int8 --scenes vga --images 16 --max-concurrent-images 64 --intra-op-threads 1 --concurrency 1,8]
# Needs FER2013 in data/ (the scenes are made of its faces). Results also go to artifacts/benchmarks/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
what="${1:-all}"
[ $# -gt 0 ] && shift
cd "$root"
dotnet build -c Release src/FerService.Api -v q -nologo >/dev/null
dotnet build -c Release tests/FerService.Benchmarks -v q -nologo >/dev/null
bench=(dotnet tests/FerService.Benchmarks/bin/Release/net10.0/FerService.Benchmarks.dll)
if [ "$what" = macro ] || [ "$what" = all ]; then
  "${bench[@]}" macro --service src/FerService.Api/bin/Release/net10.0/FerService.Api.dll "$@"
fi
if [ "$what" = micro ] || [ "$what" = all ]; then
  "${bench[@]}" micro
fi
