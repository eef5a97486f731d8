#!/usr/bin/env bash
# Installs what the workspace needs and is missing, at the versions in tools/versions.env.
# Safe to run again: whatever is present at the right version is skipped.
#
#   scripts/setup.sh app    # what building and running the app needs
#   scripts/setup.sh test   # that, plus what the tests need (Chromium, chromedriver, wasm-pack, Playwright)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
loud_errors

what=${1:-test}
case "$what" in app|test) ;; *) die "usage: scripts/setup.sh app|test" ;; esac

# has_version CMD TEXT: CMD --version mentions TEXT
has_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -qF "$2"; }

command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup (https://rustup.rs) first"
command -v npm >/dev/null || apt_install nodejs npm

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! has_version trunk "trunk $TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (cargo install, ~10-15 min the first time)"
  cargo install --locked --force "trunk@$TRUNK_VERSION" --no-default-features --features rustls
fi

bindgen=$(wasm_bindgen_version)
[ -n "$bindgen" ] || die "no wasm-bindgen in Cargo.lock"
if ! has_version wasm-bindgen "wasm-bindgen $bindgen" || ! has_version wasm-bindgen-test-runner "$bindgen"; then
  say "installing wasm-bindgen-cli $bindgen (the version in Cargo.lock)"
  # Not --locked: its lock file wants a webpki-roots that the registry no longer serves.
  cargo install --force "wasm-bindgen-cli@$bindgen"
fi

if ! has_version wasm-opt "version ${BINARYEN_VERSION%%.*}"; then
  say "installing wasm-opt from npm binaryen@$BINARYEN_VERSION into $TOOLS_HOME"
  # A private prefix: Debian's binaryen (108) cannot read today's wasm, and `npm -g` would
  # collide with /usr/bin.
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_HOME/binaryen-$BINARYEN_VERSION" \
    "binaryen@$BINARYEN_VERSION"
  has_version wasm-opt "version ${BINARYEN_VERSION%%.*}" || die "wasm-opt $BINARYEN_VERSION did not install"
fi

[ "$what" = test ] || exit 0

apt_install chromium chromium-driver nginx

if ! has_version wasm-pack "wasm-pack $WASM_PACK_VERSION"; then
  say "installing wasm-pack $WASM_PACK_VERSION"
  cargo install --locked --force "wasm-pack@$WASM_PACK_VERSION"
fi

if ! has_version cargo-fuzz "cargo-fuzz $CARGO_FUZZ_VERSION"; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked --force "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi

if ! (cd "$ROOT/e2e" && npm ls --silent >/dev/null 2>&1); then
  say "installing the end-to-end test's packages (npm ci in e2e/)"
  # playwright-core only: it drives Debian's /usr/bin/chromium and never downloads a browser.
  (cd "$ROOT/e2e" && npm ci --silent --no-audit --no-fund)
fi
