#!/usr/bin/env python3
"""The tables scripts/bench.sh prints, from the measurements it collected.

Usage: bench_report.py main|compressed RUNS.jsonl [--duration D --connections N --rate R
--idle N --rounds N]

RUNS.jsonl has one JSON object per measurement: the bench's own `--json` line (msgs_per_s,
p50_us, p99_us, generator_cpu_pct, received, sent_wire_ratio, ...) with the driver's fields
added by name: `server`, `mode` (ping-pong, flood, rate, idle; for the compressed set
`ping-pong-4096` and so on), `round`, `server_cpu_us_per_msg`, `stalls` (rate rounds: gaps over
1 ms the machine itself showed right after), `idle_bytes_per_conn` (idle rows). Fields are read
by name, never by position.
"""

import argparse
import json
import statistics


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def values(runs, server, mode, field):
    return [r[field] for r in runs if r["server"] == server and r["mode"] == mode and r.get(field) is not None]


def pick(runs, server, mode, field, how=statistics.median):
    found = values(runs, server, mode, field)
    return how(found) if found else None


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def main_table(runs, args):
    servers = list(dict.fromkeys(r["server"] for r in runs))
    print(
        f"{args.connections} connections, 32-byte text messages, {args.duration} per mode, rate mode at "
        f"{args.rate} msgs/s; idle: {args.idle} connections"
    )
    if args.rounds > 1:
        print(f"each figure: the median of {args.rounds} rounds (every round's figures are above)")
    print(
        f'{"server":<19}{"ping-pong/s":>12}{"xraw":>6}{"xours":>6}{"flood/s":>11}{"xraw":>6}{"xours":>6}'
        f'{"rate p50 µs":>12}{"p99 µs":>8}{"best p99":>9}{"stalls":>7}{"cpu µs/msg":>11}{"idle B/conn":>12}'
        f'{"gen% pp/fl":>12}'
    )

    def gen(server, mode):
        pct = pick(runs, server, mode, "generator_cpu_pct", max)
        return "-" if pct is None else f"{pct:.0f}{'!' if pct > 90 else ''}"

    def num(value, width, digits=0):
        return f"{'-' if value is None else f'{value:.{digits}f}':>{width}}"

    for s in servers:
        pp, fl = pick(runs, s, "ping-pong", "msgs_per_s"), pick(runs, s, "flood", "msgs_per_s")
        stalls = pick(runs, s, "rate", "stalls", sum)
        print(
            f"{s:<19}"
            + num(pp, 12)
            + f'{ratio(pp, pick(runs, "raw-tcp", "ping-pong", "msgs_per_s")):>6}'
            + f'{ratio(pp, pick(runs, "backend", "ping-pong", "msgs_per_s")):>6}'
            + num(fl, 11)
            + f'{ratio(fl, pick(runs, "raw-tcp", "flood", "msgs_per_s")):>6}'
            + f'{ratio(fl, pick(runs, "backend", "flood", "msgs_per_s")):>6}'
            + num(pick(runs, s, "rate", "p50_us"), 12)
            + num(pick(runs, s, "rate", "p99_us"), 8)
            + num(pick(runs, s, "rate", "p99_us", min), 9)
            + num(stalls, 7)
            + num(pick(runs, s, "flood", "server_cpu_us_per_msg"), 11, 2)
            + num(pick(runs, s, "idle", "idle_bytes_per_conn"), 12)
            + f'{gen(s, "ping-pong") + "/" + gen(s, "flood"):>12}'
        )
    print(
        "(gen% pp/fl: the load generator's own CPU, % of its one core, in ping-pong and flood, the\n"
        " highest of the rounds; '!' marks over 90 %: generator-bound, the figure may be the generator's.\n"
        " cpu µs/msg: the server's user + system time during the flood run over the echoes received;\n"
        " best p99: the lowest of the rounds. On this shared machine some rounds of every server, raw\n"
        " TCP included, see a few stalls of 2+ ms that set their p99; the best round shows the server.\n"
        " stalls: gaps over 1 ms that a thread spinning on each CPU saw in the 1 s after each rate round,\n"
        " summed over the rounds: the machine's own stalls (its host taking the CPUs away), not a server's.)"
    )


def compressed_table(runs, args):
    servers = list(dict.fromkeys(r["server"] for r in runs))
    modes = list(dict.fromkeys(r["mode"] for r in runs if r["mode"] != "idle"))
    print(
        f"{args.connections} connections, JSON-like text, {args.duration} per run; "
        f"idle: {args.idle} connections after one 4 KiB message each"
    )
    print(f'{"server":<18}{"idle B/conn":>12}' + "".join(f'{m + " msg/s":>22}{"µs/msg":>8}{"gen%":>6}' for m in modes))
    for s in servers:
        idle = pick(runs, s, "idle", "idle_bytes_per_conn")
        cells = [f"{s:<18}", f'{"-" if idle is None else f"{idle:.0f}":>12}']
        for m in modes:
            rate = pick(runs, s, m, "msgs_per_s")
            if rate is None:
                cells.append(f'{"-":>22}{"-":>8}{"-":>6}')
                continue
            cpu = pick(runs, s, m, "server_cpu_us_per_msg")
            gen = pick(runs, s, m, "generator_cpu_pct")
            cells.append(f"{rate:>22.0f}{cpu:>8.2f}{gen:>6.0f}")
        print("".join(cells))
    ratios = sorted({f'{r["sent_wire_ratio"]}' for r in runs if r.get("sent_wire_ratio")})
    print("(µs/msg: the server's CPU per echoed message; gen%: the load generator's CPU, % of its one core;")
    print(" the bench's messages went out at", ", ".join(ratios) or "-", "of their size on the wire)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", choices=["main", "compressed"])
    parser.add_argument("runs")
    parser.add_argument("--duration", default="5s")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rate", type=int, default=10000)
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    runs = load(args.runs)
    (main_table if args.table == "main" else compressed_table)(runs, args)
