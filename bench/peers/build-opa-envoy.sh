#!/usr/bin/env bash
# Builds the peer benchmark's Go binaries into .tools/peers/ (idempotent):
#   opa-envoy-plugin  from the pinned source in bench/peers/opa-envoy-plugin/
#   loadclient        from bench/peers/loadclient/ (fresh-token / fixed-rate load)
# Needs the Go toolchain (GO, default: go on PATH, else /usr/local/go/bin/go)
# and the Go module proxy for dependencies; go.sum pins every module.
# A binary is rebuilt only when its stamp (source hash + Go version) changes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/.tools/peers"
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0

if ! "$GO" version >/dev/null 2>&1; then
  echo "build-opa-envoy: no Go toolchain (set GO=/path/to/go)" >&2
  exit 1
fi
go_version="$("$GO" env GOVERSION)"
# The Go release line the published results were built with (opa-envoy-plugin
# v1.19.1 pins go1.26.6 in .go-version); any patch release of it is accepted.
go_line=go1.26
if [[ "$go_version" != "$go_line" && "$go_version" != "$go_line".* ]]; then
  echo "build-opa-envoy: need $go_line.x, found $go_version (set GO=/path/to/go)" >&2
  exit 1
fi
mkdir -p "$out"

# build <name> <source dir> <package>
build() {
  local name="$1" src="$2" pkg="$3"
  local stamp
  stamp="$(cd "$src" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
    sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1) $go_version"
  if [[ -x "$out/$name" && -f "$out/$name.stamp" && "$(cat "$out/$name.stamp")" == "$stamp" ]]; then
    echo "build-opa-envoy: $name up to date ($out/$name)"
    return
  fi
  echo "build-opa-envoy: building $name with $go_version (GOPROXY=$("$GO" env GOPROXY))"
  (cd "$src" && "$GO" build -trimpath -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  echo "$stamp" >"$out/$name.stamp"
}

build opa-envoy-plugin "$root/bench/peers/opa-envoy-plugin" ./cmd/opa-envoy-plugin
build loadclient "$root/bench/peers/loadclient" .

commit="$(sed -n 's/.*commit `\([0-9a-f]\{40\}\)`.*/\1/p' "$root/bench/peers/opa-envoy-plugin/SOURCE.md")"
echo "build-opa-envoy: opa-envoy-plugin v1.19.1-envoy commit $commit"
echo "build-opa-envoy: modules: $(cd "$root/bench/peers/opa-envoy-plugin" &&
  "$GO" list -m -f '{{.Path}}@{{.Version}}' github.com/open-policy-agent/opa \
    github.com/envoyproxy/go-control-plane/envoy google.golang.org/grpc | tr '\n' ' ')"
"$out/opa-envoy-plugin" version | sed -n 's/^\(Version\|Go Version\): */build-opa-envoy: opa-envoy-plugin &/p'
