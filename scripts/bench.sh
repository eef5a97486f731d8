#!/usr/bin/env bash
# Measures echo servers side by side with the bench load generator: each server pinned to CPU 0,
# the load on CPU 1, all on 127.0.0.1. Prints one table per server and mode, plus the server's
# RSS per idle connection (from /proc). Everything it starts is stopped by PID at the end.
#
#   scripts/bench.sh            # full run: 10 s per mode, 50 connections, 10,000 idle
#   scripts/bench.sh --smoke    # a few seconds, small counts: what CI runs so it never rots
#
# Servers: "backend" (this project, release, --quiet) and "bare-actix" (backend/examples/
# bare_echo.rs, the actix-ws baseline). Other peers are listed in bench/RESULTS.md as to do.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

if [ "${1:-}" = --smoke ]; then
  duration=2s; connections=10; idle=200; modes="ping-pong flood rate"
else
  duration=10s; connections=50; idle=10000; modes="ping-pong flood rate"
fi
ulimit -n "$(ulimit -Hn)"
pin_server="taskset -c 0"; pin_load="taskset -c 1"
[ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null || { pin_server=""; pin_load=""; }

cargo build --release -q -p backend -p client --bin bench
cargo build --release -q -p backend --example bare_echo
bench=target/release/bench

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_listening() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  die "nothing listens on 127.0.0.1:$1"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

failed=0
run_server() {
  local name=$1 port=$2; shift 2
  port_free "$port" || die "port $port is taken"
  $pin_server "$@" >/dev/null 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_listening "$port"
  echo "== $name (pid $pid)"
  # Idle first, on a fresh process: after the load runs the allocator has freed memory to reuse.
  local before after
  before=$(rss_kib "$pid")
  $pin_load "$bench" --addr "127.0.0.1:$port" --mode idle --duration 6s --connections "$idle" --json \
    > "target/bench-idle-$name.json" &
  local load=$!
  sleep 5
  after=$(rss_kib "$pid")
  wait "$load" || failed=1
  echo "idle: $idle connections held, sample echoes $(grep -o '"received":[0-9]*' "target/bench-idle-$name.json"), server RSS $before -> $after KiB = $(( (after - before) * 1024 / idle )) bytes per connection"
  for mode in $modes; do
    $pin_load "$bench" --addr "127.0.0.1:$port" --mode "$mode" --duration "$duration" \
      --connections "$connections" --rate 10000 || failed=1
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_server backend 19001 target/release/backend --addr 127.0.0.1:19001 --quiet --max-connections 20000
run_server bare-actix 19002 target/release/examples/bare_echo 127.0.0.1:19002
exit $failed
