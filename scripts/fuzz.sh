#!/usr/bin/env bash
# Fuzzes the message decoder (fuzz/fuzz_targets/message_decoder.rs) for SECONDS (default 30).
# cargo-fuzz wants a nightly compiler for its sanitizer flags; RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them. A crash leaves its input in fuzz/artifacts/message_decoder/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
loud_errors

seconds=${1:-30}
cd "$ROOT/fuzz"
RUSTC_BOOTSTRAP=1 cargo fuzz run message_decoder -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
  | grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)' || exit 1
