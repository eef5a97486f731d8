#!/usr/bin/env bash
# Installs what is missing, builds the page and runs the echo server on http://localhost:8080.
# Arguments go to the backend, e.g. `scripts/run.sh --addr 0.0.0.0:9000`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
loud_errors

bash "$ROOT/scripts/setup.sh" app
cd "$ROOT"
say "building the frontend (trunk build --release)"
trunk build --release
say "starting the backend"
exec cargo run --release -p backend -- "$@"
