# Helpers for the FROM-scratch images (sourced by envoy/build-image.sh,
# scripts/build-node-base-image.sh and scripts/build-prometheus-image.sh).

# copy_libraries ROOT BIN...: copies into ROOT the shared libraries and the
# dynamic loader that `ldd` lists for each BIN, at the same paths. Static
# binaries need none. Fails when ldd reports a library it cannot find.
copy_libraries() {
  local root="$1" bin ldd_out lib
  shift
  for bin in "$@"; do
    ldd_out="$(ldd "$bin" 2>&1 || true)"
    if grep -qE 'not a dynamic executable|statically linked' <<<"$ldd_out"; then
      continue
    fi
    if grep -q 'not found' <<<"$ldd_out"; then
      echo "ldd reports missing libraries for $bin:" >&2
      echo "$ldd_out" >&2
      return 1
    fi
    # Lines look like "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)",
    # "/lib64/ld-linux-x86-64.so.2 (0x...)" or "linux-vdso.so.1 (0x...)" (skipped).
    while read -r lib; do
      [[ -z "$lib" ]] && continue
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$ldd_out" | sort -u)
  done
}
