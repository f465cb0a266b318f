#!/usr/bin/env bash
# Run the end-to-end suite (real Envoy in Docker) on a developer machine:
# the same setup phases as .ci/run except `npm ci`, then `npm run test:e2e`.
# Extra arguments go to jest, e.g.:
#   scripts/e2e-local.sh test/e2e/envoy-smoke.test.ts
#   scripts/e2e-local.sh -t 'fails closed'
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../.ci/run
source "$repo/.ci/run"
cd "$repo"
phase_node
[[ -d node_modules ]] || phase_npm_ci
phase_apt
phase_dockerd
phase_venv
phase_envoy_image
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 TESTCONTAINERS_RYUK_DISABLED=true
phase e2e "jest --selectProjects e2e --runInBand $*"
exec node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects e2e --runInBand "$@"
