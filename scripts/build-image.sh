#!/usr/bin/env bash
# Build the rolegate image (default tag rolegate:local) from the repository's
# Dockerfile on the base image ROLEGATE_NODE_IMAGE (default rolegate-node:local,
# see scripts/build-node-base-image.sh). The build stage runs `npm ci`, so the
# npm registry must be reachable from the host network.
#
# The build context is the repository's files as git sees them (tracked and
# untracked, never ignored ones: no node_modules, dist or .tools), packed into
# a reproducible tar. When NODE_EXTRA_CA_CERTS names a file (a machine that
# reaches the registry through a TLS-intercepting proxy, like this project's
# CI), that file is added to the context as .npm-extra-ca.pem for the build
# stage only; the runtime stage never contains it.
#
# Usage: scripts/build-image.sh [--force]
# Env:   ROLEGATE_IMAGE       image tag (default: rolegate:local)
#        ROLEGATE_NODE_IMAGE  base image (default: rolegate-node:local)
#        NPM_CONFIG_REGISTRY  passed to the build stage when set
# Skips the build when an image with that tag already carries the same digest
# of context and base image (label org.rolegate.image.sha256), unless --force.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${ROLEGATE_IMAGE:-rolegate:local}"
base="${ROLEGATE_NODE_IMAGE:-rolegate-node:local}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

base_id="$(docker image inspect "$base" --format '{{ .Id }}' 2>/dev/null || true)"
if [[ -z "$base_id" ]]; then
  echo "base image $base not found: build it with scripts/build-node-base-image.sh (or docker pull the official node image and set ROLEGATE_NODE_IMAGE)" >&2
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
build_args=(--build-arg "NODE_IMAGE=$base")
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  cp "$NODE_EXTRA_CA_CERTS" "$tmp/.npm-extra-ca.pem"
  tar -rf "$tmp/context.tar" "${tar_opts[@]}" -C "$tmp" .npm-extra-ca.pem
  build_args+=(--build-arg "NODE_EXTRA_CA_CERTS=/app/.npm-extra-ca.pem")
fi
if [[ -n "${NPM_CONFIG_REGISTRY:-}" ]]; then
  build_args+=(--build-arg "NPM_CONFIG_REGISTRY=$NPM_CONFIG_REGISTRY")
fi
digest="$(cat "$tmp/context.tar" <(echo "$base_id") | sha256sum | cut -d' ' -f1)"

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
if ! out="$(DOCKER_BUILDKIT=0 docker build --network host -t "$image" "${build_args[@]}" \
  --label "org.rolegate.image.sha256=$digest" - <"$tmp/context.tar" 2>&1)"; then
  echo "docker build failed:" >&2
  tail -n 60 <<<"$out" >&2
  exit 1
fi

# Prove the image starts: the CLI answers as the non-root user.
user="$(docker image inspect "$image" --format '{{ .Config.User }}')"
if [[ -z "$user" || "$user" == "root" || "$user" == "0" ]]; then
  docker image rm "$image" >/dev/null
  echo "built $image but it runs as root (removed it)" >&2
  exit 1
fi
want="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json" | head -n 1)"
if ! out="$(docker run --rm --network none "$image" --version 2>&1)" || ! grep -qF "$want" <<<"$out"; then
  docker image rm "$image" >/dev/null
  echo "built $image but 'rolegate --version' inside it did not print $want (removed it):" >&2
  echo "$out" >&2
  exit 1
fi
# The image this tag named before is now untagged: drop it unless a container uses it.
if [[ -n "$previous" && "$previous" != "$(docker image inspect "$image" --format '{{ .Id }}')" ]]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
echo "built $image in $(($(date +%s) - start)) s (user $user)"
