#!/usr/bin/env bash
# Regenerates completions/ and man/ from the CLI definition (src/cli.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
opp=target/debug/opp
mkdir -p completions
"$opp" completions bash >completions/opp.bash
"$opp" completions zsh >completions/_opp
"$opp" completions fish >completions/opp.fish
"$opp" completions powershell >completions/_opp.ps1
"$opp" completions elvish >completions/opp.elv
rm -rf man && mkdir man
"$opp" man man
echo "regenerated completions/ and man/"
