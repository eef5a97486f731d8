#!/usr/bin/env bash
# Measures echo servers side by side with the bench load generator (bench/generator): each
# server pinned to CPU 0, the load on CPU 1, all on 127.0.0.1. For each server: RSS per idle
# connection on a fresh process (from /proc), then ping-pong, flood and a fixed 10k msg/s rate,
# each with the server's CPU time per message. The servers take turns, round after round, so
# that a slow spell of this shared machine does not land on one server alone; the table gives
# the median of the rounds, with ratios to raw TCP and to our backend. Everything it starts is
# stopped by PID at the end. Not part of the test command (only --smoke is).
#
#   scripts/bench.sh                 # every server: 3 rounds of 5 s per mode, 50 connections,
#                                    # 10,000 idle; the table gives each figure's median
#   scripts/bench.sh --rounds 1 --duration 10s   # one 10 s run of each mode per server
#   scripts/bench.sh --smoke         # raw TCP, backend and bare actix-ws, 2 s per mode: CI
#   scripts/bench.sh --only backend,bare-actix   # some servers
#   scripts/bench.sh --idle 19000    # hold 19,000 idle connections (the fd limit is 20,000)
#   scripts/bench.sh --modes rate --rounds 7   # some modes only (idle,ping-pong,flood,rate)
#   scripts/bench.sh --soak 10m      # the backend alone at 10k msg/s, RSS each minute
#   scripts/bench.sh --compressed    # permessage-deflate: JSON-like text of 256 B, 4 KiB and
#                                    # 64 KiB (--sizes), ping-pong and flood, and RSS per idle
#                                    # connection after one message (see "Compressed" below)
#
# Every server writes its stdout and stderr to a real file, target/bench/logs/NAME.log, as a
# deployment does (truncated before each run so the disk does not fill); none to /dev/null.
#
# Servers: raw-tcp (bench/peers, the physical reference), backend (ours, release, default
# logging: --log-rate 1000 recv: lines a second, then a summary line), backend-every-line
# (--log-rate 0: a recv: line for every message), backend-pipe (default logging, its stderr on
# a pipe read by `cat` appending to the file, as journald or a container runtime reads it),
# backend-quiet (--quiet), bare-actix (backend/examples/bare_echo.rs), tungstenite and
# fastwebsockets (bench/peers), gorilla (the seed's Go server, bench/peers/gorilla, logging
# every recv: as the seed does) and gorilla-quiet (its -quiet flag), node-ws (Node's `ws`,
# bench/peers/node). Go and `ws` are installed here when missing (apt, npm). Optional, never by
# default: uws (uWebSockets.js from the UNOFFICIAL npm repack uws-pack, bench/peers/uws/echo.mjs
# says what was checked), with `--only ...,uws`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
loud_errors
cd "$ROOT"

duration=5s; rounds=3; connections=50; idle=10000; rate=10000; soak=""; modes="idle,ping-pong,flood,rate"
compressed=""; sizes="256,4096,65536"; compressed_idle=500
only="raw-tcp,backend,backend-every-line,backend-pipe,backend-quiet,bare-actix,tungstenite,fastwebsockets,gorilla,gorilla-quiet,node-ws"
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) duration=2s; rounds=1; connections=10; idle=200; only="raw-tcp,backend,bare-actix" ;;
    --only) only=${2:?--only needs a list of servers}; shift ;;
    --idle) idle=${2:?--idle needs a count}; shift ;;
    --duration) duration=${2:?--duration needs a time like 10s}; shift ;;
    --rounds) rounds=${2:?--rounds needs a count}; shift ;;
    --modes) modes=${2:?--modes needs a list like rate or ping-pong,flood}; shift ;;
    --soak) soak=${2:?--soak needs a time like 10m}; shift ;;
    --compressed) compressed=1 ;;
    --sizes) sizes=${2:?--sizes needs a list like 256,4096}; shift ;;
    *) die "unknown argument $1 (see the top of $0)" ;;
  esac
  shift
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds takes a whole number of rounds, 1 or more (got $rounds)"
ulimit -n "$(ulimit -Hn)"
pin_server="taskset -c 0"; pin_load="taskset -c 1"
[ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null || { pin_server=""; pin_load=""; }
clock_ticks=$(getconf CLK_TCK)
wanted() { [[ ",$only," == *",$1,"* ]]; }

# Each binary named: `-p backend -p client --bin bench` would build the bench alone and leave
# a stale backend in place.
cargo build --release -q -p backend --bin backend
cargo build --release -q -p bench --bin bench --bin stall_meter
cargo build --release -q -p backend --example bare_echo
if wanted raw-tcp || wanted tungstenite || wanted fastwebsockets; then
  cargo build --release -q -p bench-peers
fi
if [ -n "$compressed" ] && [[ ",$only," == *",raw-tcp,"* ]]; then
  only="backend,backend-takeover,backend-plain,gorilla-compress,node-ws-compress"
fi
if wanted gorilla || wanted gorilla-quiet || wanted gorilla-compress; then
  [ -f /usr/share/gocode/src/github.com/gorilla/websocket/conn.go ] && command -v go >/dev/null \
    || apt_install golang-go golang-github-gorilla-websocket-dev
  (cd bench/peers/gorilla && GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off go build -o "$ROOT/target/gorilla-echo" .) \
    || die "could not build the gorilla peer (bench/peers/gorilla)"
fi
if { wanted node-ws || wanted node-ws-compress; } && ! (cd bench/peers/node && npm ls --silent >/dev/null 2>&1); then
  (cd bench/peers/node && npm ci --silent --no-audit --no-fund) || die "npm ci in bench/peers/node failed"
fi
if wanted uws && ! (cd bench/peers/uws && npm ls --silent >/dev/null 2>&1); then
  (cd bench/peers/uws && npm ci --silent --no-audit --no-fund) || die "npm ci in bench/peers/uws failed"
fi
bench=target/release/bench

# The machine's own stalls, right after a rate round: a thread spinning on each CPU for 1 s
# notes every gap over 1 ms (bench/generator/src/bin/stall_meter.rs). A VM whose host takes its CPUs
# away shows them here, and a p99 of that round has them in it. Prints "count longest_ms".
machine_stalls() {
  local meter b
  $pin_server target/release/stall_meter --duration 1s --json > "$out/stalls.json" &
  meter=$!
  b=$($pin_load target/release/stall_meter --duration 1s --json)
  wait "$meter"
  python3 - "$(cat "$out/stalls.json")" "$b" <<'EOF'
import json, sys
runs = [json.loads(a) for a in sys.argv[1:] if a.strip()]
print(sum(r["stalls_over_1ms"] for r in runs), max((r["longest_ms"] for r in runs), default=0))
EOF
}
out=target/bench
mkdir -p "$out/logs"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_listening() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  die "nothing listens on 127.0.0.1:$1"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
json_field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

# Starts a server pinned to CPU 0, its output appended to the file $log, or (via=pipe) to a
# pipe read by `cat`, pinned beside it, that appends to $log; sets server_pid.
start_server() {
  local port=$1 via=$2; shift 2
  port_free "$port" || die "port $port is taken"
  : > "$log"
  if [ "$via" = pipe ]; then
    $pin_server "$@" > >($pin_server cat >> "$log") 2>&1 &
  else
    $pin_server "$@" >> "$log" 2>&1 &
  fi
  server_pid=$!
  pids+=("$server_pid")
  wait_listening "$port"
}

failed=0
results="$out/results.tsv"
# RSS per idle connection of the server just started (uses run_server's locals).
idle_rss() {
  local before after load per_conn
  before=$(rss_kib "$pid")
  $pin_load "$bench" "${target[@]}" --mode idle --duration 6s --connections "$idle" --json \
    > "$out/idle-$name.json" &
  load=$!
  sleep 5
  after=$(rss_kib "$pid")
  wait "$load" || { failed=1; echo "idle run failed: $(cat "$out/idle-$name.json")"; }
  per_conn=$(( (after - before) * 1024 / idle ))
  echo "idle: $idle connections, sample echoes $(json_field received < "$out/idle-$name.json") of $(json_field sent < "$out/idle-$name.json"), RSS $before -> $after KiB = $per_conn bytes per connection"
  printf '%s\tidle\t\t\t\t\t%s\n' "$name" "$per_conn" >> "$results"
}
: > "$results"
# One server for one round: in the first, idle RSS on the fresh process (after load the
# allocator has freed memory to reuse); then each mode. Appends "server mode msgs/s p50 p99
# cpu-µs/msg rss-bytes/conn" rows.
run_server() {
  local name=$1 port=$2 kind=$3 via=$4; shift 4
  wanted "$name" || return 0
  local log="$out/logs/$name.log"
  start_server "$port" "$via" "$@"
  local pid=$server_pid target=(--addr "127.0.0.1:$port")
  [ "$kind" = raw ] && target+=(--raw)
  echo "== $name (pid $pid), round $round of $rounds"
  if [ "$round" -eq 1 ] && [[ ",$modes," == *",idle,"* ]]; then idle_rss; fi
  for mode in ping-pong flood rate; do
    [[ ",$modes," == *",$mode,"* ]] || continue
    local ticks line
    : > "$log"   # appended to (O_APPEND), so truncating it here is safe
    ticks=$(cpu_ticks "$pid")
    line=$($pin_load "$bench" "${target[@]}" --mode "$mode" --duration "$duration" \
      --connections "$connections" --rate "$rate" --json) || { failed=1; echo "$mode failed: $line"; continue; }
    ticks=$(( $(cpu_ticks "$pid") - ticks ))
    local stalls=""
    if [ "$mode" = rate ]; then
      stalls=$(machine_stalls)
      echo "$mode: $line (log: $(stat -c %s "$log") bytes; the machine's stalls over 1 ms in the 1 s after: ${stalls% *}, longest ${stalls#* } ms)"
    else
      echo "$mode: $line (log: $(stat -c %s "$log") bytes)"
    fi
    python3 - "$name" "$mode" "$ticks" "$clock_ticks" "$line" "$stalls" >> "$results" <<'EOF'
import json, sys
name, mode, ticks, hz, line = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
stalls = sys.argv[6].split()[0] if sys.argv[6].strip() else ""
cpu_us = ticks * 1e6 / hz / max(line["received"], 1)
print(f'{name}\t{mode}\t{line["msgs_per_s"]:.0f}\t{line["p50_us"]}\t{line["p99_us"]}\t{cpu_us:.2f}\t\t{line["generator_cpu_pct"]}\t{stalls}')
EOF
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

if [ -n "$soak" ]; then
  log="$out/logs/soak.log"
  start_server 19001 file target/release/backend --addr 127.0.0.1:19001 --max-connections 20000
  pid=$server_pid
  : > "$out/soak-rss.txt"
  echo "== soak: backend (pid $pid), $rate msgs/s over $connections connections for $soak; RSS each minute"
  $pin_load "$bench" --addr 127.0.0.1:19001 --mode rate --duration "$soak" --connections "$connections" \
    --rate "$rate" --json > "$out/soak.json" &
  load=$!
  minute=0
  while kill -0 "$load" 2>/dev/null; do
    sleep 60 & wait $!
    kill -0 "$load" 2>/dev/null || break
    minute=$((minute + 1))
    echo "minute $minute: RSS $(rss_kib "$pid") KiB" | tee -a "$out/soak-rss.txt"
  done
  wait "$load" || failed=1
  echo "load: $(cat "$out/soak.json")"
  exit $failed
fi

# Compressed: each server agreeing to permessage-deflate, against the bench's --compress (JSON-like
# text, precompressed by the bench, echoes inflated and checked). `backend-plain` is the backend
# with the same sizes uncompressed, for the cost of compression itself. Idle RSS: connections
# that each sent one compressed message, so the server holds what it keeps between messages.
if [ -n "$compressed" ]; then
  table="$out/compressed.tsv"
  : > "$table"
  run_compressed() {
    local name=$1 port=$2 offer=$3; shift 3
    wanted "$name" || return 0
    local log="$out/logs/$name.log"
    start_server "$port" file "$@"
    local pid=$server_pid target=(--addr "127.0.0.1:$port") flag=()
    [ "$offer" = yes ] && flag=(--compress)
    echo "== $name (pid $pid), compressed"
    local before after
    before=$(rss_kib "$pid")
    $pin_load "$bench" "${target[@]}" "${flag[@]}" --mode idle --size 4096 --duration 4s \
      --connections "$compressed_idle" --json > "$out/idle-$name.json" &
    local load=$!
    sleep 3
    after=$(rss_kib "$pid")
    wait "$load" || { failed=1; echo "idle run failed: $(cat "$out/idle-$name.json")"; }
    printf '%s\tidle\t\t\t\t%s\n' "$name" $(( (after - before) * 1024 / compressed_idle )) >> "$table"
    for size in ${sizes//,/ }; do
      for mode in ping-pong flood; do
        local ticks line
        : > "$log"
        ticks=$(cpu_ticks "$pid")
        # At most 100 messages or 2 MiB in flight per connection: the default 1,000 would take
        # the slower servers longer to work off than the bench waits for the last echoes.
        line=$($pin_load "$bench" "${target[@]}" "${flag[@]}" --mode "$mode" --size "$size" \
          --window $(( size > 20971 ? 2097152 / size : 100 )) \
          --duration "$duration" --connections "$connections" --json) \
          || { failed=1; echo "$mode $size failed: $line"; continue; }
        ticks=$(( $(cpu_ticks "$pid") - ticks ))
        echo "$mode $size: $line"
        python3 - "$name" "$mode-$size" "$ticks" "$clock_ticks" "$line" >> "$table" <<'EOF'
import json, sys
name, mode, ticks, hz, line = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
cpu_us = ticks * 1e6 / hz / max(line["received"], 1)
print(f'{name}\t{mode}\t{line["msgs_per_s"]:.0f}\t{cpu_us:.2f}\t{line["generator_cpu_pct"]}\t\t{line.get("sent_wire_ratio") or ""}')
EOF
      done
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
  }
  run_compressed backend 19001 yes target/release/backend --addr 127.0.0.1:19001 --max-connections 20000
  run_compressed backend-takeover 19013 yes target/release/backend --addr 127.0.0.1:19013 --deflate-context-takeover --max-connections 20000
  run_compressed backend-plain 19014 no target/release/backend --addr 127.0.0.1:19014 --max-connections 20000
  run_compressed gorilla-compress 19015 yes target/gorilla-echo -addr 127.0.0.1:19015 -quiet -compress
  run_compressed node-ws-compress 19016 yes node bench/peers/node/echo.mjs 127.0.0.1:19016 --compress
  echo
  echo "$connections connections, JSON-like text, $duration per run; idle: $compressed_idle connections after one 4 KiB message each"
  python3 - "$table" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
servers = list(dict.fromkeys(r[0] for r in rows))
runs = list(dict.fromkeys(r[1] for r in rows if r[1] != "idle"))
get = {(r[0], r[1]): r for r in rows}
print(f'{"server":<18}{"idle B/conn":>12}' + "".join(f'{run + " msg/s":>22}{"µs/msg":>8}{"gen%":>6}' for run in runs))
for s in servers:
    idle = get.get((s, "idle"))
    cells = [f"{s:<18}", f'{idle[5] if idle else "-":>12}']
    for run in runs:
        r = get.get((s, run))
        cells += [f'{r[2]:>22}', f'{r[3]:>8}', f'{r[4]:>6}'] if r else [f'{"-":>22}{"-":>8}{"-":>6}']
    print("".join(cells))
ratios = sorted({r[6] for r in rows if len(r) > 6 and r[6]})
print("(µs/msg: the server's CPU per echoed message; gen%: the load generator's CPU, % of its one core;")
print(" the bench's messages went out at", ", ".join(ratios) or "-", "of their size on the wire)")
EOF
  exit $failed
fi

for round in $(seq "$rounds"); do
  run_server raw-tcp 19003 raw file target/release/raw_tcp_echo 127.0.0.1:19003
  run_server backend 19001 ws file target/release/backend --addr 127.0.0.1:19001 --max-connections 20000
  run_server backend-every-line 19010 ws file target/release/backend --addr 127.0.0.1:19010 --log-rate 0 --max-connections 20000
  run_server backend-pipe 19011 ws pipe target/release/backend --addr 127.0.0.1:19011 --max-connections 20000
  run_server backend-quiet 19008 ws file target/release/backend --addr 127.0.0.1:19008 --quiet --max-connections 20000
  run_server bare-actix 19002 ws file target/release/examples/bare_echo 127.0.0.1:19002
  run_server tungstenite 19004 ws file target/release/tungstenite_echo 127.0.0.1:19004
  run_server fastwebsockets 19005 ws file target/release/fastwebsockets_echo 127.0.0.1:19005
  run_server gorilla 19006 ws file target/gorilla-echo -addr 127.0.0.1:19006
  run_server gorilla-quiet 19012 ws file target/gorilla-echo -addr 127.0.0.1:19012 -quiet
  run_server node-ws 19007 ws file node bench/peers/node/echo.mjs 127.0.0.1:19007
  run_server uws 19009 ws file node bench/peers/uws/echo.mjs 127.0.0.1:19009
done

echo
echo "$connections connections, 32-byte text messages, $duration per mode, rate mode at $rate msgs/s; idle: $idle connections"
if [ "$rounds" -gt 1 ]; then echo "each figure: the median of $rounds rounds (every round's figures are above)"; fi
python3 - "$results" <<'EOF'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
by = {}
for r in rows:
    by.setdefault((r[0], r[1]), []).append(r)
servers = list(dict.fromkeys(r[0] for r in rows))
def num(server, mode, col, pick=statistics.median):
    values = [float(r[col]) for r in by.get((server, mode), []) if len(r) > col and r[col]]
    return pick(values) if values else None
def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"
print(f'{"server":<19}{"ping-pong/s":>12}{"xraw":>6}{"xours":>6}{"flood/s":>11}{"xraw":>6}{"xours":>6}'
      f'{"rate p50 µs":>12}{"p99 µs":>8}{"best p99":>9}{"stalls":>7}{"cpu µs/msg":>11}{"idle B/conn":>12}{"gen% pp/fl":>12}')
def stalls(server):
    total = num(server, "rate", 8, sum)
    return "-" if total is None else f"{total:.0f}"
def gen(server, mode):
    pct = num(server, mode, 7, max)
    return "-" if pct is None else f"{pct:.0f}{'!' if pct > 90 else ''}"
for s in servers:
    pp, fl = num(s, "ping-pong", 2), num(s, "flood", 2)
    cells = [f"{s:<19}",
             f'{pp or 0:>12.0f}', f'{ratio(pp, num("raw-tcp", "ping-pong", 2)):>6}', f'{ratio(pp, num("backend", "ping-pong", 2)):>6}',
             f'{fl or 0:>11.0f}', f'{ratio(fl, num("raw-tcp", "flood", 2)):>6}', f'{ratio(fl, num("backend", "flood", 2)):>6}',
             f'{num(s, "rate", 3) or 0:>12.0f}', f'{num(s, "rate", 4) or 0:>8.0f}',
             f'{num(s, "rate", 4, min) or 0:>9.0f}',
             f'{stalls(s):>7}',
             f'{num(s, "flood", 5) or 0:>11.2f}', f'{num(s, "idle", 6) or 0:>12.0f}',
             f'{gen(s, "ping-pong") + "/" + gen(s, "flood"):>12}']
    print("".join(cells))
EOF
echo "(gen% pp/fl: the load generator's own CPU, % of its one core, in ping-pong and flood, the"
echo " highest of the rounds; '!' marks over 90 %: generator-bound, the figure may be the generator's."
echo " cpu µs/msg: the server's user + system time during the flood run over the echoes received;"
echo " best p99: the lowest of the rounds. On this shared machine some rounds of every server, raw"
echo " TCP included, see a few stalls of 2+ ms that set their p99; the best round shows the server."
echo " stalls: gaps over 1 ms that a thread spinning on each CPU saw in the 1 s after each rate round,"
echo " summed over the rounds: the machine's own stalls (its host taking the CPUs away), not a server's.)"
exit $failed
