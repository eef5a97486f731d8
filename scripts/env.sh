# Sourced by the other scripts: the workspace root, pinned versions and the PATH they need.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tools/versions.env
source "$ROOT/tools/versions.env"

# Tools installed outside the clone, so a fresh clone on the same machine reuses them.
TOOLS_HOME=${ECHO_TOOLS_HOME:-$HOME/.cache/ws-echo-tools}
BINARYEN_BIN="$TOOLS_HOME/binaryen-$BINARYEN_VERSION/node_modules/.bin"
export PATH="$HOME/.cargo/bin:$BINARYEN_BIN:$PATH"

# The wasm-bindgen crate version in Cargo.lock; wasm-bindgen-cli must be exactly this.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# For scripts with `set -e`: a command that fails and stops the script says which one it was.
loud_errors() {
  set -E
  trap 'printf "error: %s line %s failed: %s\n" "${BASH_SOURCE[0]:-$0}" "$LINENO" "$BASH_COMMAND" >&2' ERR
}

# apt_install PACKAGE...: installs those not installed yet (apt-get update first, as root or sudo).
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]} (apt)"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}
