#!/usr/bin/env bash
# Build the rolegate image from the repository's Dockerfile. Its name is
# rolegate:<package.json version> (rolegate:0.1.0), the image the Helm chart
# (appVersion) and docker-compose.yml pull by default; a unit test
# (test/unit/deploy/image.test.ts) keeps the four in step. The image carries
# the OCI labels: version (package.json) and revision (the git commit).
# To push it to a registry (ECR): docs/eks.md, step 1.
#
# The base image is ROLEGATE_NODE_IMAGE; unset, it is rolegate-node:local when
# present (scripts/build-node-base-image.sh: machines without an image
# registry, like this project's CI), else the Dockerfile's official node image
# (pulled when missing). The build stage runs `npm ci`, so the npm registry
# must be reachable from the host network.
#
# The build context is the repository's files as git sees them (tracked and
# untracked, never ignored ones: no node_modules, dist or .tools), packed into
# a reproducible tar. When NODE_EXTRA_CA_CERTS names a file (a machine that
# reaches the registry through a TLS-intercepting proxy, like this project's
# CI), that file is added to the context as .npm-extra-ca.pem for the build
# stage only; the runtime stage never contains it.
#
# Usage: scripts/build-image.sh [--force | --print-name]
#        --print-name prints the image name it would build, and nothing else
# Env:   ROLEGATE_IMAGE       image name (default: rolegate:<package.json version>)
#        ROLEGATE_NODE_IMAGE  base image (default: see above)
#        ROLEGATE_REVISION    revision label (default: git rev-parse HEAD)
#        NPM_CONFIG_REGISTRY  passed to the build stage when set
# Skips the build when an image with that name already carries the same digest
# of context, base image and revision (label org.rolegate.image.sha256),
# unless --force.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json" | head -n 1)"
[[ -n "$version" ]] || { echo "no version in $repo/package.json" >&2; exit 1; }
image="${ROLEGATE_IMAGE:-rolegate:$version}"
if [[ "${1:-}" == "--print-name" ]]; then
  echo "$image"
  exit 0
fi
revision="${ROLEGATE_REVISION:-$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

if [[ -n "${ROLEGATE_NODE_IMAGE:-}" ]]; then
  base="$ROLEGATE_NODE_IMAGE"
elif docker image inspect rolegate-node:local >/dev/null 2>&1; then
  base=rolegate-node:local
else
  base="$(sed -n 's/^ARG NODE_IMAGE=//p' "$repo/Dockerfile")"
  docker image inspect "$base" >/dev/null 2>&1 || docker pull "$base" >&2 || true
fi
base_id="$(docker image inspect "$base" --format '{{ .Id }}' 2>/dev/null || true)"
if [[ -z "$base_id" ]]; then
  echo "base image $base not found: docker pull it, or build the local stand-in with scripts/build-node-base-image.sh (and set ROLEGATE_NODE_IMAGE)" >&2
  exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/rolegate-image.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# Files as git sees them, minus what .dockerignore names at the top level.
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
  tr '\0' '\n' | sort -u |
  grep -v -E '^(node_modules|dist|\.tools|coverage|\.git)(/|$)' |
  while IFS= read -r f; do [[ -f "$repo/$f" ]] && printf '%s\0' "$f"; done >"$tmp/files"
tar_opts=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner)
tar -cf "$tmp/context.tar" "${tar_opts[@]}" -C "$repo" --null -T "$tmp/files"
build_args=(--build-arg "NODE_IMAGE=$base" --build-arg "ROLEGATE_VERSION=$version"
  --build-arg "ROLEGATE_REVISION=$revision")
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  cp "$NODE_EXTRA_CA_CERTS" "$tmp/.npm-extra-ca.pem"
  tar -rf "$tmp/context.tar" "${tar_opts[@]}" -C "$tmp" .npm-extra-ca.pem
  build_args+=(--build-arg "NODE_EXTRA_CA_CERTS=/app/.npm-extra-ca.pem")
fi
if [[ -n "${NPM_CONFIG_REGISTRY:-}" ]]; then
  build_args+=(--build-arg "NPM_CONFIG_REGISTRY=$NPM_CONFIG_REGISTRY")
fi
digest="$(cat "$tmp/context.tar" <(echo "$base_id $revision") | sha256sum | cut -d' ' -f1)"

if [[ $force -eq 0 ]]; then
  have="$(docker image inspect "$image" --format '{{ index .Config.Labels "org.rolegate.image.sha256" }}' 2>/dev/null || true)"
  if [[ "$have" == "$digest" ]]; then
    echo "image $image is up to date (sha256 ${digest:0:12})"
    exit 0
  fi
fi

previous="$(docker image inspect "$image" --format '{{ .Id }}' 2>/dev/null || true)"
echo "building $image on $base (context sha256 ${digest:0:12})"
start=$(date +%s)
# Legacy builder: works with any daemon (no buildx plugin needed). Host
# network: the only network on this machine, and the way to the registry.
# --force-rm: a failed step leaves no stopped container behind.
if ! out="$(DOCKER_BUILDKIT=0 docker build --network host --force-rm -t "$image" "${build_args[@]}" \
  --label "org.rolegate.image.sha256=$digest" - <"$tmp/context.tar" 2>&1)"; then
  echo "docker build failed:" >&2
  tail -n 60 <<<"$out" >&2
  exit 1
fi

# Prove the image starts: the CLI answers as the non-root user, on a
# read-only root filesystem (as the chart runs it).
user="$(docker image inspect "$image" --format '{{ .Config.User }}')"
if [[ -z "$user" || "$user" == "root" || "$user" == "0" ]]; then
  docker image rm "$image" >/dev/null
  echo "built $image but it runs as root (removed it)" >&2
  exit 1
fi
if ! out="$(docker run --rm --network none --read-only "$image" --version 2>&1)" || ! grep -qF "$version" <<<"$out"; then
  docker image rm "$image" >/dev/null
  echo "built $image but 'rolegate --version' inside it did not print $version (removed it):" >&2
  echo "$out" >&2
  exit 1
fi
# The image this tag named before is now untagged: drop it unless a container uses it.
if [[ -n "$previous" && "$previous" != "$(docker image inspect "$image" --format '{{ .Id }}')" ]]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
echo "built $image in $(($(date +%s) - start)) s (user $user, revision $revision)"
