#!/usr/bin/env bash
# Runs every test of the workspace, installing first whatever is missing (scripts/setup.sh).
# Each suite runs even when an earlier one failed; the last line counts them, and the exit
# status is non-zero when any failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# The wasm + JS the browser downloads, gzipped, must stay under this (issue: bundle budget).
BUNDLE_BUDGET_GZIP_BYTES=$((150 * 1024))

bash "$ROOT/scripts/setup.sh" test || die "setup failed: see above"
cd "$ROOT"

passed=0
failed=0
report=()
# ONLY=TEXT runs just the suites whose name contains TEXT (for the development loop).
suite() {
  local name=$1
  shift
  if [ -n "${ONLY:-}" ] && [[ $name != *"$ONLY"* ]]; then
    return 0
  fi
  say "suite: $name"
  if "$@"; then
    passed=$((passed + 1))
    report+=("  ok    $name")
  else
    failed=$((failed + 1))
    report+=("  FAIL  $name")
  fi
}

backend_pid=""
stop_backend() {
  if [ -n "$backend_pid" ]; then
    kill "$backend_pid" 2>/dev/null
    wait "$backend_pid" 2>/dev/null
    backend_pid=""
  fi
}
trap stop_backend EXIT

# Starts target/debug/backend on a free port, with extra flags if given; sets BACKEND_ADDR.
start_backend() {
  local log="$ROOT/target/test-backend.log"
  NO_COLOR=1 "$ROOT/target/debug/backend" --addr 127.0.0.1:0 --dist "$ROOT/dist" "$@" 2>"$log" &
  backend_pid=$!
  BACKEND_ADDR=""
  for _ in $(seq 100); do
    BACKEND_ADDR=$(grep -o 'listening on http://[^ ]*' "$log" | head -n 1 | sed 's#.*http://##')
    [ -n "$BACKEND_ADDR" ] && return 0
    sleep 0.1
  done
  cat "$log" >&2
  echo "error: the backend did not report its address within 10 s" >&2
  return 1
}

bundle() {
  trunk build --release || return 1
  local total=0 file size
  for file in dist/*.wasm dist/*.js; do
    size=$(gzip -9 -c "$file" | wc -c)
    printf '  %-40s %8d bytes, %7d gzipped\n' "$(basename "$file")" "$(stat -c %s "$file")" "$size"
    total=$((total + size))
  done
  printf '  bundle: %d bytes gzipped (budget %d)\n' "$total" "$BUNDLE_BUDGET_GZIP_BYTES"
  if [ "$total" -gt "$BUNDLE_BUDGET_GZIP_BYTES" ]; then
    echo "error: the bundle grew past its budget" >&2
    return 1
  fi
}

frontend_in_browser() {
  # The test page comes from wasm-bindgen-test-runner's own random port: another origin.
  start_backend --allow-origin '*' || return 1
  local status=0
  ECHO_TEST_URL="ws://$BACKEND_ADDR/echo" \
    wasm-pack --log-level warn test --headless --chrome --mode no-install frontend || status=1
  stop_backend
  return $status
}

end_to_end() {
  # report.test.mjs runs the load generator (its --report); the cargo test suite built it,
  # unless ONLY= skipped that suite.
  cargo build -q -p backend -p bench --bin backend --bin bench || return 1
  (cd e2e && node --test --test-reporter=spec)
}

# The browser benchmark (scripts/bench-browser.sh) in small, so it never rots; figures printed.
browser_benchmark_smoke() {
  (cd e2e && node bench.mjs --echoes 1000 --runs 1)
}

suite "format (cargo fmt --check)" cargo fmt --all -- --check
suite "lint native (clippy)" cargo clippy -p backend -p client -p bench -p ws-deflate -p ws-peer-text -p ws-wire -p ws-fixture -p ws-dial -p bench-peers --all-targets -- -D warnings
suite "lint wasm (clippy)" cargo clippy -p frontend --target wasm32-unknown-unknown --all-targets -- -D warnings
suite "backend, client, bench and the shared crates (cargo test)" cargo test -p backend -p client -p bench -p ws-deflate -p ws-peer-text -p ws-wire -p ws-fixture -p ws-dial
suite "memory bound, hostile peers and idle memory (release backend)" \
  cargo test --release -p backend --test memory_bound --test hostile_peers --test idle_memory \
  -- --ignored --test-threads 1 --nocapture
suite "behind nginx (deploy/nginx.conf, two backends)" \
  cargo test -p backend --test behind_nginx -- --ignored
suite "bundle (trunk build --release, size budget)" bundle
suite "frontend in Chromium (wasm-pack test)" frontend_in_browser
suite "end to end (Playwright + Chromium)" end_to_end
suite "browser benchmark smoke run (e2e/bench.mjs)" browser_benchmark_smoke
suite "conformance (Autobahn|Testsuite)" bash "$ROOT/scripts/autobahn.sh"
suite "fuzz the server's decoder and the client-side frame readers (3 x 20 s)" bash "$ROOT/scripts/fuzz.sh" 20
suite "benchmark smoke run (scripts/bench.sh smoke)" bash "$ROOT/scripts/bench.sh" smoke

echo
printf '%s\n' "${report[@]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
