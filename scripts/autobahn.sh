#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzingclient against the backend (release build, free port) and
# checks the results against conformance/expected.json. The JSON and HTML reports stay in
# target/autobahn/. Installs the testsuite on first use: it is Python 2 only, and runs on the
# CPython 2.7.18 that pyenv provides.
#
#   scripts/autobahn.sh            # run and check
#   scripts/autobahn.sh --update   # run and rewrite conformance/expected.json (review the diff!)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
loud_errors

AUTOBAHN_VERSION=25.10.1
VIRTUALENV_VERSION=20.21.1
PY27=""
for candidate in "${PYENV_ROOT:-$HOME/.pyenv}/versions/2.7.18/bin/python" "$(command -v python2.7 || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then PY27=$candidate; break; fi
done
[ -n "$PY27" ] || die "no Python 2.7 interpreter: the Autobahn testsuite needs one (pyenv install 2.7.18)"

venv="$TOOLS_HOME/autobahn-$AUTOBAHN_VERSION-py27"
if ! "$venv/bin/wstest" --autobahnversion >/dev/null 2>&1; then
  say "installing autobahntestsuite $AUTOBAHN_VERSION into $venv"
  python3 -m venv "$TOOLS_HOME/virtualenv-$VIRTUALENV_VERSION"
  "$TOOLS_HOME/virtualenv-$VIRTUALENV_VERSION/bin/pip" install -q "virtualenv==$VIRTUALENV_VERSION"
  rm -rf "$venv"
  "$TOOLS_HOME/virtualenv-$VIRTUALENV_VERSION/bin/virtualenv" -q -p "$PY27" "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "autobahntestsuite==$AUTOBAHN_VERSION" 2>&1 \
    | grep -v DEPRECATION || true
  "$venv/bin/wstest" --autobahnversion >/dev/null || die "autobahntestsuite did not install"
fi

cd "$ROOT"
cargo build --release -p backend
out="$ROOT/target/autobahn"
rm -rf "$out"
mkdir -p "$out"

NO_COLOR=1 "$ROOT/target/release/backend" --addr 127.0.0.1:0 --dist "$out/no-bundle" 2>"$out/backend.log" &
backend=$!
trap 'kill $backend 2>/dev/null; wait $backend 2>/dev/null' EXIT
addr=""
for _ in $(seq 100); do
  # Nothing yet is not a failure: the backend writes its log a few milliseconds later.
  addr=$(grep -o 'listening on http://[^ ]*' "$out/backend.log" | head -n 1 | sed 's#.*http://##') || true
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$out/backend.log" >&2; die "the backend did not start"; }

# 12.* and 13.* are permessage-deflate (every offer form and window size, with and without
# context takeover): about 11 of the run's 12 minutes, mostly the suite's own Python compressing.
cat >"$out/fuzzingclient.json" <<JSON
{
  "outdir": "$out/reports",
  "servers": [{"agent": "ws-echo", "url": "ws://$addr/echo"}],
  "cases": ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*", "12.*", "13.*"],
  "exclude-cases": [],
  "exclude-agent-cases": {}
}
JSON
say "autobahn fuzzingclient against ws://$addr/echo"
(cd "$out" && timeout 2400 "$venv/bin/wstest" -m fuzzingclient -s fuzzingclient.json >"$out/wstest.log" 2>&1) \
  || { tail -n 20 "$out/wstest.log" >&2; die "wstest failed (log: $out/wstest.log)"; }
python3 "$ROOT/conformance/check.py" "$out/reports/index.json" "$@"
