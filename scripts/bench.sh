#!/usr/bin/env bash
# Measures echo servers side by side with the bench load generator (bench/generator): each
# server pinned to CPU 0, the load on CPU 1, all on 127.0.0.1. The servers are data
# (bench/servers.tsv: name, port, kind, how its log is written, which set, the command); this
# script starts each in turn, runs the bench against it and records every measurement as one
# JSON object in target/bench/runs.jsonl (the bench's own --json line, with the server, mode,
# round, the server's CPU per message, the machine's stalls and idle bytes per connection
# added by name); scripts/bench_report.py prints the tables from that file. The servers take
# turns, round after round, so that a slow spell of this shared machine does not land on one
# server alone. Everything it starts is stopped by PID at the end. Not part of the test
# command (only `smoke` is).
#
#   scripts/bench.sh [run]            # every server of the main set: 3 rounds of 5 s per mode,
#                                     # 50 connections, 10,000 idle; each figure the median
#   scripts/bench.sh smoke            # raw TCP, backend and bare actix-ws, 2 s per mode: CI
#   scripts/bench.sh soak 10m         # the backend alone at 10k msg/s, RSS each minute
#   scripts/bench.sh compressed       # permessage-deflate: JSON-like text of 256 B, 4 KiB and
#                                     # 64 KiB (--sizes), ping-pong and flood, and RSS per idle
#                                     # connection after one message
#   scripts/bench.sh tls              # wss next to ws: the backend plain, over TLS, over TLS with
#                                     # permessage-deflate agreed; gorilla and Node's ws over TLS
#                                     # (a self-signed certificate made here)
# Options (any subcommand): --only a,b (servers by name; `uws` only when named), --rounds N,
# --duration 5s, --modes idle,ping-pong,flood,rate, --idle N (connections held; the fd limit
# is 20,000), --sizes 256,4096 (compressed). The flags --smoke, --soak D and --compressed of
# earlier sessions still work. BENCH_SERVERS=FILE reads another roster.
#
# Every server writes its stdout and stderr to a real file, target/bench/logs/NAME.log, as a
# deployment does (truncated before each run so the disk does not fill); none to /dev/null.
# The servers (bench/servers.tsv): raw-tcp (the physical reference), the backend with its
# default logging, with a line per message (backend-every-line), with its log on a pipe read by
# `cat` (backend-pipe, as journald reads it) and with --quiet; bare-actix
# (backend/examples/bare_echo.rs), tungstenite and fastwebsockets (bench/peers), gorilla (the
# seed's Go server, logging as the seed does) and gorilla-quiet, Node's ws; optional: uws (an
# UNOFFICIAL npm repack, bench/peers/uws/echo.mjs says what was checked). Go and `ws` are
# installed here when missing (apt, npm).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
loud_errors
cd "$ROOT"

command=run; soak=""
duration=5s; rounds=3; connections=50; idle=10000; rate=10000; modes="idle,ping-pong,flood,rate"
sizes="256,4096,65536"; compressed_idle=500; only=""
case ${1:-} in
  run|smoke|compressed|tls) command=$1; shift ;;
  soak) command=soak; soak=${2:?soak needs a time like 10m}; shift 2 ;;
esac
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) command=smoke ;;
    --soak) command=soak; soak=${2:?--soak needs a time like 10m}; shift ;;
    --compressed) command=compressed ;;
    --only) only=${2:?--only needs a list of servers}; shift ;;
    --idle) idle=${2:?--idle needs a count}; shift ;;
    --duration) duration=${2:?--duration needs a time like 10s}; shift ;;
    --rounds) rounds=${2:?--rounds needs a count}; shift ;;
    --modes) modes=${2:?--modes needs a list like rate or ping-pong,flood}; shift ;;
    --sizes) sizes=${2:?--sizes needs a list like 256,4096}; shift ;;
    *) die "unknown argument $1 (see the top of $0)" ;;
  esac
  shift
done
if [ "$command" = smoke ]; then
  duration=2s; rounds=1; connections=10; idle=200; only=${only:-raw-tcp,backend,bare-actix}
fi
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds takes a whole number of rounds, 1 or more (got $rounds)"

# Another roster with BENCH_SERVERS=FILE (e.g. a backend built from an older commit beside
# today's, to measure a change in turns).
servers_file=${BENCH_SERVERS:-bench/servers.tsv}
# The roster for SET: "name port kind via sets command..." from bench/servers.tsv, with the
# port put into the command; --only picks by name (and is the only way to an optional one).
roster() {
  local set=$1 name port kind via sets rest
  while read -r name port kind via sets rest; do
    [[ -z $name || $name == \#* ]] && continue
    case ",$sets," in
      *",$set,"*) ;;
      *",optional,"*) [ "$set" = main ] && [ -n "$only" ] || continue ;;
      *) continue ;;
    esac
    [ -z "$only" ] || [[ ",$only," == *",$name,"* ]] || continue
    rest=${rest//\{port\}/$port}; rest=${rest//\{cert\}/$tls_dir/cert.pem}
    echo "$name $port $kind $via $sets ${rest//\{key\}/$tls_dir/key.pem}"
  done < "$servers_file"
}
# The wss rows' certificate: self-signed for 127.0.0.1, made once per run.
tls_dir=$ROOT/target/bench/tls
case $command in
  compressed) servers=$(roster compressed) ;;
  tls) servers=$(roster tls) ;;
  soak) servers=$(only=backend roster main) ;;
  *) servers=$(roster main) ;;
esac
[ -n "$servers" ] || die "no server in $servers_file matches --only $only"
wanted() { grep -q "^$1 " <<< "$servers"; }
ulimit -n "$(ulimit -Hn)"
pin_server="taskset -c 0"; pin_load="taskset -c 1"
[ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null || { pin_server=""; pin_load=""; }
clock_ticks=$(getconf CLK_TCK)

# Each binary named: `-p backend -p client --bin bench` would build the bench alone and leave
# a stale backend in place.
cargo build --release -q -p backend --bin backend
cargo build --release -q -p bench --bin bench --bin stall_meter
cargo build --release -q -p backend --example bare_echo
if wanted raw-tcp || wanted tungstenite || wanted fastwebsockets; then
  cargo build --release -q -p bench-peers
fi
if wanted gorilla || wanted gorilla-quiet || wanted gorilla-compress || wanted gorilla-tls; then
  [ -f /usr/share/gocode/src/github.com/gorilla/websocket/conn.go ] && command -v go >/dev/null \
    || apt_install golang-go golang-github-gorilla-websocket-dev
  (cd bench/peers/gorilla && GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off go build -o "$ROOT/target/gorilla-echo" .) \
    || die "could not build the gorilla peer (bench/peers/gorilla)"
fi
if { wanted node-ws || wanted node-ws-compress || wanted node-ws-tls; } && ! (cd bench/peers/node && npm ls --silent >/dev/null 2>&1); then
  (cd bench/peers/node && npm ci --silent --no-audit --no-fund) || die "npm ci in bench/peers/node failed"
fi
if wanted uws && ! (cd bench/peers/uws && npm ls --silent >/dev/null 2>&1); then
  (cd bench/peers/uws && npm ci --silent --no-audit --no-fund) || die "npm ci in bench/peers/uws failed"
fi
bench=target/release/bench
out=target/bench
runs="$out/runs.jsonl"
mkdir -p "$out/logs"
: > "$runs"
if [ "$command" = tls ]; then
  mkdir -p "$tls_dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$tls_dir/key.pem" -out "$tls_dir/cert.pem" -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE 2>/dev/null \
    || die "openssl could not make the wss rows' certificate"
fi

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

# The machine's own stalls, right after a rate round: a thread spinning on each CPU for 1 s
# notes every gap over 1 ms (bench/generator/src/bin/stall_meter.rs). A VM whose host takes its
# CPUs away shows them here, and a p99 of that round has them in it. Prints their count.
machine_stalls() {
  local meter b
  $pin_server target/release/stall_meter --duration 1s --json > "$out/stalls.json" &
  meter=$!
  b=$($pin_load target/release/stall_meter --duration 1s --json)
  wait "$meter"
  python3 -c 'import json, sys; print(sum(json.loads(a)["stalls_over_1ms"] for a in sys.argv[1:] if a.strip()))' \
    "$(cat "$out/stalls.json")" "$b"
}

# Appends one measurement to $runs: the bench's JSON line (or "") and KEY=VALUE fields; with
# ticks=N (the server's CPU clock ticks during the run) it adds server_cpu_us_per_msg.
record() {
  python3 - "$runs" "$clock_ticks" "$@" <<'EOF'
import json, sys
path, hz, line, *pairs = sys.argv[1:]
row = json.loads(line) if line.strip() else {}
for pair in pairs:
    key, _, value = pair.partition("=")
    try:
        row[key] = json.loads(value)
    except ValueError:
        row[key] = value
if "ticks" in row:
    row["server_cpu_us_per_msg"] = round(row.pop("ticks") * 1e6 / int(hz) / max(row.get("received", 0), 1), 2)
with open(path, "a") as f:
    f.write(json.dumps(row) + "\n")
EOF
}

# Starts a roster line's server pinned to CPU 0, its output appended to $log, or through a
# pipe read by `cat` pinned beside it (via=pipe); sets pid and target (the bench's flags).
start_server() {
  local port=$2 kind=$3 via=$4 sets=$5
  shift 5
  port_free "$port" || die "port $port is taken"
  : > "$log"
  if [ "$via" = pipe ]; then
    $pin_server "$@" > >($pin_server cat >> "$log") 2>&1 &
  else
    $pin_server "$@" >> "$log" 2>&1 &
  fi
  pid=$!
  pids+=("$pid")
  wait_listening "$port"
  target=(--addr "127.0.0.1:$port")
  [ "$kind" = raw ] && target+=(--raw)
  [ "$kind" = wss ] && target=(--url "wss://127.0.0.1:$port/echo" --ca "$tls_dir/cert.pem")
  # The tls set's compress=yes rows (the compressed set adds --compress itself).
  [[ ",$sets," == *",tls,"* && ",$sets," == *",compress=yes,"* ]] && target+=(--compress)
  return 0
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; }

failed=0
# Holds COUNT idle connections (bench flags after the count) for a few seconds on the fresh
# process; records the server's RSS growth per connection.
idle_rss() {
  local count=$1; shift
  # Read once the crowd has settled: the backend parks an idle connection 5 s (--park-after)
  # after its last message, and gives the pages the crowd's handshakes used back to the system.
  local before after load line hold=15 settle=13
  # TLS handshakes take the server's one CPU a few seconds per 10,000: hold them longer, so
  # that all are open when the RSS is read.
  if [[ " ${target[*]} " == *" wss://"* ]]; then hold=20; settle=18; fi
  before=$(rss_kib "$pid")
  $pin_load "$bench" "${target[@]}" "$@" --mode idle --duration "${hold}s" --connections "$count" --json \
    > "$out/idle-$name.json" &
  load=$!
  sleep "$settle"
  after=$(rss_kib "$pid")
  wait "$load" || { failed=1; echo "idle run failed: $(cat "$out/idle-$name.json")"; }
  line=$(cat "$out/idle-$name.json")
  echo "idle: $count connections, RSS $before -> $after KiB: $line"
  record "$line" server="$name" mode=idle round="$round" \
    idle_bytes_per_conn=$(( (after - before) * 1024 / count ))
}

# One measured run of MODE, recorded as LABEL; more bench flags after the label.
measure() {
  local mode=$1 label=$2; shift 2
  local ticks line stalls=null
  : > "$log"   # appended to (O_APPEND), so truncating it here is safe
  ticks=$(cpu_ticks "$pid")
  line=$($pin_load "$bench" "${target[@]}" --mode "$mode" --duration "$duration" \
    --connections "$connections" --rate "$rate" --json "$@") \
    || { failed=1; echo "$label failed: $line"; return 0; }
  ticks=$(( $(cpu_ticks "$pid") - ticks ))
  if [ "$mode" = rate ]; then
    stalls=$(machine_stalls)
    echo "$label: $line (log: $(stat -c %s "$log") bytes; the machine's stalls over 1 ms in the 1 s after: $stalls)"
  else
    echo "$label: $line (log: $(stat -c %s "$log") bytes)"
  fi
  record "$line" server="$name" mode="$label" round="$round" ticks="$ticks" stalls="$stalls"
}

run_main() {
  for round in $(seq "$rounds"); do
    while read -r name port kind via sets command; do
      log="$out/logs/$name.log"
      # shellcheck disable=SC2086 # the command's words
      start_server "$name" "$port" "$kind" "$via" "$sets" $command
      echo "== $name (pid $pid), round $round of $rounds"
      # Idle RSS on the fresh process (after load the allocator has freed memory to reuse).
      if [ "$round" -eq 1 ] && [[ ",$modes," == *",idle,"* ]]; then idle_rss "$idle"; fi
      for mode in ping-pong flood rate; do
        if [[ ",$modes," == *",$mode,"* ]]; then measure "$mode" "$mode"; fi
      done
      stop_server
    done <<< "$servers"
  done
  echo
  python3 scripts/bench_report.py main "$runs" --duration "$duration" --connections "$connections" \
    --rate "$rate" --idle "$idle" --rounds "$rounds"
}

# Each server of the compressed set against the bench's --compress when the roster says
# compress=yes (JSON-like text, precompressed by the bench, echoes inflated and checked);
# backend-plain is the backend with the same sizes uncompressed, for the cost of compression.
run_compressed() {
  round=1
  while read -r name port kind via sets command; do
    log="$out/logs/$name.log"
    local flag=()
    if [[ ",$sets," == *",compress=yes,"* ]]; then flag=(--compress); fi
    # shellcheck disable=SC2086 # the command's words
    start_server "$name" "$port" "$kind" "$via" "$sets" $command
    echo "== $name (pid $pid), compressed"
    idle_rss "$compressed_idle" "${flag[@]}" --size 4096
    for size in ${sizes//,/ }; do
      for mode in ping-pong flood; do
        # At most 100 messages or 2 MiB in flight per connection: the default 1,000 would take
        # the slower servers longer to work off than the bench waits for the last echoes.
        measure "$mode" "$mode-$size" "${flag[@]}" --size "$size" \
          --window $(( size > 20971 ? 2097152 / size : 100 ))
      done
    done
    stop_server
  done <<< "$servers"
  echo
  python3 scripts/bench_report.py compressed "$runs" --duration "$duration" \
    --connections "$connections" --idle "$compressed_idle"
}

run_soak() {
  local name port kind via sets command
  read -r name port kind via sets command <<< "$servers"
  log="$out/logs/soak.log"
  # shellcheck disable=SC2086 # the command's words
  start_server "$name" "$port" "$kind" "$via" "$sets" $command
  : > "$out/soak-rss.txt"
  echo "== soak: $name (pid $pid), $rate msgs/s over $connections connections for $soak; RSS each minute"
  $pin_load "$bench" "${target[@]}" --mode rate --duration "$soak" --connections "$connections" \
    --rate "$rate" --json > "$out/soak.json" &
  local load=$! minute=0
  while kill -0 "$load" 2>/dev/null; do
    sleep 60 & wait $!
    kill -0 "$load" 2>/dev/null || break
    minute=$((minute + 1))
    echo "minute $minute: RSS $(rss_kib "$pid") KiB" | tee -a "$out/soak-rss.txt"
  done
  wait "$load" || failed=1
  echo "load: $(cat "$out/soak.json")"
}

case $command in
  run|smoke|tls) run_main ;;
  compressed) run_compressed ;;
  soak) run_soak ;;
esac
exit $failed
