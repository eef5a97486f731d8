#!/usr/bin/env bash
# Browser benchmark: builds the release bundle and backend, then runs e2e/bench.mjs in Debian's
# Chromium against that backend on 127.0.0.1 and prints the figures (time to interactive,
# appending 10,000 echoes, searching the full log). Arguments go to bench.mjs:
#
#   scripts/bench-browser.sh                        # 10,000 echoes, 5 page loads
#   scripts/bench-browser.sh --echoes 1000 --runs 1 # quick
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
loud_errors
bash "$ROOT/scripts/setup.sh" test
cd "$ROOT"
trunk build --release >/dev/null 2>&1 || die "trunk build --release failed: run it to see why"
cargo build --release -q -p backend
cd e2e && ECHO_BACKEND_BIN="$ROOT/target/release/backend" node bench.mjs "$@"
