# syntax=docker/dockerfile:1
# FerService, CPU build. The same publish command runs in CI as scripts/container-check.sh.
# Base images are build arguments whose defaults are the images users pull; CI builds this same file with local
# stand-ins for them (scripts/container-smoke.sh, docs/operations.md).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG ASPNET_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled

# 1. Restore in its own layer (only project files), then publish.
FROM ${SDK_IMAGE} AS build
# The label font for annotated images (Debian fonts-dejavu-core), copied into the runtime image below.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY build/ build/
COPY src/FerService.Inference/FerService.Inference.csproj src/FerService.Inference/
COPY src/FerService.Serving/FerService.Serving.csproj src/FerService.Serving/
COPY src/FerService.Api/FerService.Api.csproj src/FerService.Api/
RUN dotnet restore src/FerService.Api/FerService.Api.csproj -r linux-x64
COPY src/FerService.Inference/ src/FerService.Inference/
COPY src/FerService.Serving/ src/FerService.Serving/
COPY src/FerService.Api/ src/FerService.Api/
COPY models/emotion-fer2013*.onnx models/emotion-fer2013*.json models/yunet_n_dynamic.onnx models/YUNET-LICENSE.txt models/
# Licences ship in the output: ours and THIRD-PARTY-NOTICES at /app, the detector's in /app/models.
COPY LICENSE THIRD-PARTY-NOTICES ./
# For linux-x64 only (as the ffmpeg stage below): without a runtime identifier the output carries every platform's
# native libraries (ONNX Runtime, SkiaSharp: 660 MB of Windows, macOS, iOS, Android and ARM builds).
RUN dotnet publish src/FerService.Api/FerService.Api.csproj -c Release -r linux-x64 --self-contained false --no-restore -o /app

# 2. ffmpeg and ffprobe for video uploads, with the shared libraries they link (from the same Ubuntu release as the
#    runtime, minus the C/C++ runtime the chiseled image already has): copied in, since that image has no apt. Paths
#    are taken under /usr/lib, as /lib is a link to it there. Also TurboJPEG (libjpeg-turbo's SIMD decoder, needs only
#    libc), which decodes JPEG uploads faster than SkiaSharp's own copy (docs/decisions/jpeg-decoding.md); Ubuntu
#    names its package libturbojpeg, Debian libturbojpeg0.
FROM ${ASPNET_IMAGE} AS ffmpeg
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg \
    && (apt-get install -y --no-install-recommends libturbojpeg || apt-get install -y --no-install-recommends libturbojpeg0) \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir /ffmpeg && cp --parents /usr/bin/ffmpeg /usr/bin/ffprobe /ffmpeg \
    && cp --parents -L /usr/lib/x86_64-linux-gnu/libturbojpeg.so.0 /ffmpeg \
    && ldd /usr/bin/ffmpeg /usr/bin/ffprobe | awk '/=>/ {print $3}' | sed 's|^/lib/|/usr/lib/|' | sort -u \
       | grep -vE 'libc\.so|libm\.so|libstdc\+\+|libgcc_s|ld-linux|libpthread|libdl\.|librt\.' \
       | xargs -I{} cp --parents -L {} /ffmpeg

# 3. Runtime: chiseled Ubuntu ASP.NET image (no shell, no package manager, non-root). ONNX Runtime's CPU library
#    needs only libc/libstdc++ and SkiaSharp's NoDependencies build only libc, both of which the image has.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY --from=build /app .
COPY --from=build /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
COPY --from=ffmpeg /ffmpeg/ /
# ONNX Runtime (1.29 and later) sends usage telemetry from Linux too unless told not to; off, as the service sends none.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    TMPDIR=/tmp \
    DOTNET_gcServer=1 \
    ORT_DISABLE_TELEMETRY=1
EXPOSE 8080
USER $APP_UID
# Read-only root filesystem: run with a tmpfs on /tmp (see docker-compose.yml); models are read-only in /app/models.
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 \
    CMD ["dotnet", "FerService.Api.dll", "--probe", "http://localhost:8080/health/ready"]
ENTRYPOINT ["dotnet", "FerService.Api.dll"]
