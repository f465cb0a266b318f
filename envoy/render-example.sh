#!/usr/bin/env bash
# Regenerate envoy/envoy.yaml (the quickstart example) from
# envoy/envoy.template.yaml. The values must match EXAMPLE_PORTS in
# test/harness/envoy-config.ts; the e2e smoke test checks the two agree.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
{
  cat <<'HEADER'
# Example Envoy config for rolegate (quickstart, README, docker-compose.yml).
#   listener      127.0.0.1:8080  -> clients send requests here
#   ext_authz     127.0.0.1:9001  -> rolegate's gRPC port (cluster "rolegate")
#   upstream      127.0.0.1:8081  -> your API (examples/echo-upstream.mjs)
#   admin         127.0.0.1:9901
# Generated from envoy/envoy.template.yaml by envoy/render-example.sh; the e2e
# smoke test checks the two stay in step and that Envoy accepts this file.
#
# Run: envoy -c envoy/envoy.yaml   (or see docker-compose.yml)
HEADER
  sed -n '/^admin:/,$p' "$here/envoy.template.yaml" | sed \
    -e 's/\${ADMIN_PORT}/9901/g' \
    -e 's/\${LISTENER_PORT}/8080/g' \
    -e 's/\${ROLEGATE_HOST}/127.0.0.1/g' \
    -e 's/\${ROLEGATE_PORT}/9001/g' \
    -e 's/\${UPSTREAM_HOST}/127.0.0.1/g' \
    -e 's/\${UPSTREAM_PORT}/8081/g' \
    -e 's/\${HEALTH_CHECK_INTERVAL}/5s/g'
} >"$here/envoy.yaml"
if grep -n '\${' "$here/envoy.yaml"; then
  echo "unfilled placeholder in envoy/envoy.yaml" >&2
  exit 1
fi
