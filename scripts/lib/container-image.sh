# Sourced by scripts/container-smoke.sh and scripts/proxy-check.sh: the project's Dockerfile built with podman on local
# stand-ins for its base images (no image registry is reachable from CI), as localhost/ferservice:latest. The caller
# sets $work (a temporary folder it removes) and defines log and fail. Runs as root on Debian; installs what it needs,
# and keeps the stand-ins and the image's layers in podman's storage, so a second build in the same or a later run
# redoes only the layers whose inputs changed.
container_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
container_image=localhost/ferservice:latest   # the name docker-compose.yml and the Deployment use
standin=localhost/ferservice-standin
revision=1   # part of the Debian stand-in's tag: bump it when its recipe changes, so it is rebuilt

heavy() { nice -n 10 "$@"; }   # builds yield the CPU to whatever else runs on the machine

# Podman with runc, and the tools named in the arguments: commands from the Debian package of the same name, or
# python3-X for Python's module X.
install_tools() {
  local missing=() tool
  for tool in podman runc conmon debootstrap curl catatonit "$@"; do
    case "$tool" in python3-*) python3 -c "import ${tool#python3-}" 2>/dev/null ;; *) command -v "$tool" >/dev/null ;; esac \
      || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # crun cannot set RLIMIT_NOFILE on these machines (cgroups v1 hybrid) and the default ulimits fail the same way;
  # a config of our own leaves the system's untouched.
  printf '[containers]\ndefault_ulimits = []\n[engine]\nruntime = "runc"\n' >"$work/containers.conf"
  export CONTAINERS_CONF="$work/containers.conf"
}

# --- Stand-in base images --------------------------------------------------------------------------------------------
# Each is built once and cached under a tag naming its inputs. They are Debian (the host's release, from the host's own
# apt mirror) where the real images are Ubuntu 24.04 or Debian; the .NET bits are this machine's own SDK and runtime.

dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
sdk_version="$(dotnet --version)"
runtime_version="$(dotnet --list-runtimes | awk '$1 == "Microsoft.AspNetCore.App" {v = $2} END {print v}')"

# Debian minbase with CA certificates, trusting what this machine trusts (a TLS-inspecting proxy's CA, if any).
standin_debian() {
  local tag="$standin/debian:$(. /etc/os-release; echo "$VERSION_CODENAME")-$revision"
  if ! podman image exists "$tag"; then
    local suite mirror rootfs="$work/rootfs"
    suite="$(. /etc/os-release; echo "$VERSION_CODENAME")"
    mirror="$(apt-cache policy | awk -v s="$suite/main" '$3 == s && /Packages/ {print $2; exit}')"
    [ -n "$mirror" ] || fail "no apt source for $suite/main on this machine to debootstrap from"
    log "debootstrap $suite from $mirror"
    heavy debootstrap --variant=minbase --include=ca-certificates "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null 2>&1
    rm -rf "$rootfs"
  fi
  echo "$tag"
}

# Prints the tag of stand-in $1 built from the Containerfile on stdin, building it unless cached (the tag ends in a
# hash of the recipe and its base): FROM $BASE is the Debian stand-in; this machine's .NET root is at /dotnet.
build_standin() {
  local base tag
  cat >"$work/Containerfile.standin"
  base="$(standin_debian)"
  tag="$1-$(cat "$work/Containerfile.standin" - <<<"$base" | sha256sum | cut -c1-12)"
  if ! podman image exists "$tag"; then
    log "building stand-in $tag"
    heavy podman build --network host --volume "$dotnet_root:/dotnet:ro" --build-arg "BASE=$base" \
      -f "$work/Containerfile.standin" -t "$tag" "$work" >"$work/standin.log" 2>&1 \
      || { tail -30 "$work/standin.log" >&2; fail "stand-in $tag"; }
    # Earlier recipes of the same stand-in are not needed again.
    podman images --format '{{.Repository}}:{{.Tag}}' | awk -v p="$1-" -v t="$tag" \
      'index($0, p) == 1 && length($0) == length(p) + 12 && $0 != t' | xargs -r podman rmi >/dev/null
  fi
  echo "$tag"
}

# The ASP.NET runtime files as the dotnet images lay them out, copied from /dotnet (the RUN line's tail).
aspnet_files='mkdir -p $R/usr/share/dotnet/shared $R/usr/bin && cp -a /dotnet/dotnet /dotnet/host /dotnet/LICENSE.txt
  /dotnet/ThirdPartyNotices.txt $R/usr/share/dotnet/ && cp -a /dotnet/shared/Microsoft.NETCore.App
  /dotnet/shared/Microsoft.AspNetCore.App $R/usr/share/dotnet/shared/ && ln -s /usr/share/dotnet/dotnet $R/usr/bin/dotnet'
aspnet_files="$(tr -s '\n ' '  ' <<<"$aspnet_files")"   # one line, for a RUN instruction

# mcr.microsoft.com/dotnet/sdk:10.0: the SDK and ICU, with this host's NuGet certificate revocation mode if it sets one.
standin_sdk() {
  build_standin "$standin/sdk:$sdk_version" <<EOF
ARG BASE
FROM \$BASE
RUN apt-get update && apt-get install -y --no-install-recommends libicu72 && rm -rf /var/lib/apt/lists/* \\
    && cp -a /dotnet /usr/share/dotnet && ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_RUNNING_IN_CONTAINER=true DOTNET_USE_POLLING_FILE_WATCHER=true NUGET_XMLDOC_MODE=skip \\
    DOTNET_SDK_VERSION=$sdk_version DOTNET_NOLOGO=true \
    ${NUGET_CERT_REVOCATION_MODE:+NUGET_CERT_REVOCATION_MODE=$NUGET_CERT_REVOCATION_MODE}
EOF
}

# mcr.microsoft.com/dotnet/aspnet:10.0-noble: a full distribution with apt and the ASP.NET runtime.
standin_aspnet() {
  build_standin "$standin/aspnet:$runtime_version" <<EOF
ARG BASE
FROM \$BASE
RUN R= && $aspnet_files
ENV APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true DOTNET_VERSION=$runtime_version \\
    ASPNET_VERSION=$runtime_version
RUN groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --no-create-home --shell /bin/false app
EOF
}

# mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled: FROM scratch with only the slices it has (libc, libgcc,
# libstdc++, OpenSSL, zlib, CA certificates, /etc/passwd with root and app 1654, /tmp), no shell, no package manager,
# globalization-invariant, the non-root user by number; so a missing library or a shell-form command fails here too.
standin_chiseled() {
  build_standin "$standin/aspnet:$runtime_version-chiseled" <<EOF
ARG BASE
FROM \$BASE AS slices
RUN apt-get update && mkdir -p /slices /debs && cd /debs \\
    && apt-get download libc6 libgcc-s1 libstdc++6 libssl3 zlib1g \\
    && for deb in *.deb; do dpkg-deb -x \$deb /slices; done \\
    && cd /slices && for d in bin sbin lib lib64; do \\
         [ ! -d \$d ] || { mkdir -p usr/\$d && cp -a \$d/. usr/\$d/ && rm -rf \$d; }; ln -s usr/\$d \$d; done \\
    && mkdir -p etc/ssl/certs tmp && chmod 1777 tmp && cp /etc/ssl/certs/ca-certificates.crt etc/ssl/certs/ \\
    && printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1654:1654::/home/app:/sbin/nologin\n' >etc/passwd \\
    && printf 'root:x:0:\napp:x:1654:\n' >etc/group && mkdir -p home/app && chown 1654:1654 home/app \\
    && rm -rf usr/share/doc usr/share/man usr/share/lintian \\
    && R=/slices && $aspnet_files
FROM scratch
COPY --from=slices /slices/ /
ENV APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true \\
    DOTNET_VERSION=$runtime_version ASPNET_VERSION=$runtime_version \\
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER 1654
EOF
}

# --- The image ----------------------------------------------------------------------------------------------------

# Prints the image's tag once it is built. The build and ffmpeg stages are tagged too (localhost/ferservice-cache:…):
# the prune below removes untagged leaves, and a stage's last layer is one, so without a tag every build after the
# first would redo the restore and publish (3 min on 2 cores) even with nothing changed.
build_image() {
  local args=(--format docker --network host -f "$container_root/Dockerfile"
              --build-arg "SDK_IMAGE=$(standin_sdk)" --build-arg "ASPNET_IMAGE=$(standin_aspnet)"
              --build-arg "RUNTIME_IMAGE=$(standin_chiseled)") stage
  log "building $container_image from the Dockerfile"
  for stage in build ffmpeg; do
    heavy podman build "${args[@]}" --target "$stage" -t "localhost/ferservice-cache:$stage" "$container_root" >>"$work/build.log" 2>&1 \
      || { tail -40 "$work/build.log" >&2; fail "podman build --target $stage"; }
  done
  heavy podman build "${args[@]}" -t "$container_image" "$container_root" >>"$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log" >&2; fail "podman build"; }
  # The previous run's image and build stages, now untagged: gigabytes a run otherwise.
  podman image prune -f >/dev/null
  echo "$container_image"
}
