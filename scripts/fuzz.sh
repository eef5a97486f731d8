#!/usr/bin/env bash
# Fuzzes each target for SECONDS (default 30): usage `fuzz.sh [SECONDS] [TARGET...]`, every
# target when none is named:
#   message_decoder  the server's decoder of what clients send (backend/src/message_decoder.rs)
#   deflate_stream   the CLI's layer under tungstenite that reads what servers send
#   bench_wire       the load generator's frame reader
# cargo-fuzz wants a nightly compiler for its sanitizer flags; RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them. A crash leaves its input in fuzz/artifacts/TARGET/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
loud_errors

seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(message_decoder deflate_stream bench_wire)
cd "$ROOT/fuzz"
for target in "${targets[@]}"; do
  say "fuzz $target for ${seconds}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
    | grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse)' || exit 1
done
