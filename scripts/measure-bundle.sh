#!/usr/bin/env bash
# Builds the release bundle with opt-level "z" and "s" and prints the sizes the browser
# downloads, to check the choice of the wasm-release profile (Cargo.toml) still holds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
loud_errors
bash "$ROOT/scripts/setup.sh" app
cd "$ROOT"

for level in z s; do
  out=$(mktemp -d)
  CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL=$level trunk build --release --dist "$out" >/dev/null 2>&1 \
    || die "trunk build with opt-level $level failed"
  wasm=$(stat -c %s "$out"/*.wasm)
  gz=0
  for file in "$out"/*.wasm "$out"/*.js; do gz=$((gz + $(gzip -9 -c "$file" | wc -c))); done
  printf 'opt-level %s: wasm %7d bytes; wasm + js gzipped %6d bytes\n' "$level" "$wasm" "$gz"
  rm -rf "$out"
done
