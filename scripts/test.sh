#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs them.
#
#   scripts/test.sh                  every test target and the doc tests
#   scripts/test.sh ARGS...          cargo test --locked ARGS... (e.g. --test support_check)
#
# Environment: OPP_TEST_TOOLS (where the tools go, see install-test-deps.sh),
# OPP_TEST_GROUPS (install groups, default: the installer's default set).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
  else
    printf 'scripts/test.sh: cargo not found on PATH (nor in ~/.cargo/bin).\n' >&2
    printf 'Install Rust 1.89 or newer, e.g. from https://rustup.rs, then run this again.\n' >&2
    exit 1
  fi
fi

# shellcheck disable=SC2086 # OPP_TEST_GROUPS is a list of group names.
scripts/install-test-deps.sh ${OPP_TEST_GROUPS:-}

TOOLS="${OPP_TEST_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/opp-test-tools}"
# shellcheck source=/dev/null
. "$TOOLS/env.sh"

# The machine may point every CA variable at the system bundle and set pip options; the tests
# choose their own, so run them without those (the installer above still used them).
test_env=(env -u SSL_CERT_FILE -u SSL_CERT_DIR -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE
  -u PIP_CERT -u PIP_FIND_LINKS PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1)

if [ "$#" -gt 0 ]; then
  exec "${test_env[@]}" cargo test --locked "$@"
fi

# The lints of Cargo.toml (no unsafe, no unwrap outside tests), and the Windows build: opp is
# used on macOS and Windows too, and what only works on unix must sit behind cfg(unix).
cargo clippy --locked --all-targets -- -D warnings
if command -v rustup >/dev/null 2>&1 &&
  rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu &&
  command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
  cargo check --locked --target x86_64-pc-windows-gnu
else
  printf 'scripts/test.sh: skipping the Windows check (no x86_64-pc-windows-gnu target or mingw gcc; see install-test-deps.sh windows)\n' >&2
fi
# --all-targets leaves out the doc tests, so they get their own run.
"${test_env[@]}" cargo test --locked --all-targets
exec "${test_env[@]}" cargo test --locked --doc
