#!/usr/bin/env bash
# Build a local Prometheus image (default tag rolegate-prometheus:local) FROM
# scratch, for machines without an image registry: Debian's prometheus binary
# (package `prometheus`) plus the libraries and loader ldd lists, laid out like
# the official prom/prometheus image that docker-compose.yml defaults to:
# ENTRYPOINT /bin/prometheus, user nobody, a writable /prometheus.
#
# Usage: scripts/build-prometheus-image.sh [--force]
# Env:   ROLEGATE_PROMETHEUS_BIN    prometheus binary (default: prometheus on PATH, else /usr/bin/prometheus)
#        ROLEGATE_PROMETHEUS_IMAGE  image tag (default: rolegate-prometheus:local)
# Skips the build when the image's org.rolegate.prometheus.sha256 label already
# matches the binary and this script, unless --force.
set -euo pipefail
# shellcheck source=lib/rootfs.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/rootfs.sh"
image="${ROLEGATE_PROMETHEUS_IMAGE:-rolegate-prometheus:local}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

bin="${ROLEGATE_PROMETHEUS_BIN:-$(command -v prometheus || echo /usr/bin/prometheus)}"
[[ -x "$bin" ]] || { echo "prometheus binary not found ($bin): apt-get install -y prometheus, or set ROLEGATE_PROMETHEUS_BIN" >&2; exit 1; }
bin="$(readlink -f "$bin")"
digest="$(cat "$bin" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
if [[ $force -eq 0 ]]; then
  have="$(docker image inspect "$image" --format '{{ index .Config.Labels "org.rolegate.prometheus.sha256" }}' 2>/dev/null || true)"
  if [[ "$have" == "$digest" ]]; then
    echo "image $image is up to date (sha256 ${digest:0:12})"
    exit 0
  fi
fi

ctx="$(mktemp -d "${TMPDIR:-/tmp}/rolegate-prometheus-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/bin" "$root/etc/prometheus" "$root/tmp" "$ctx/tsdb/prometheus"
chmod 1777 "$root/tmp"
cp "$bin" "$root/bin/prometheus"
copy_libraries "$root" "$bin"
printf 'root:x:0:0:root:/root:/bin/prometheus\nnobody:x:65534:65534:nobody:/nonexistent:/bin/prometheus\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
ARG PROMETHEUS_SHA256=unknown
LABEL org.rolegate.prometheus.sha256="${PROMETHEUS_SHA256}" \
      org.opencontainers.image.title="rolegate-prometheus" \
      org.opencontainers.image.description="Debian's prometheus, FROM scratch, for rolegate tests"
COPY rootfs/ /
# COPY makes everything root-owned; the TSDB directory belongs to nobody.
COPY --chown=65534:65534 tsdb/ /
USER nobody
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
DOCKERFILE

if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$image" --build-arg "PROMETHEUS_SHA256=$digest" "$ctx" 2>&1)"; then
  echo "docker build failed:" >&2
  echo "$out" >&2
  exit 1
fi
if ! out="$(docker run --rm --network none "$image" --version 2>&1)"; then
  echo "built $image but 'prometheus --version' failed inside it:" >&2
  echo "$out" >&2
  exit 1
fi
echo "built $image: $(head -1 <<<"$out")"
