#!/usr/bin/env bash
# bench/corpus.sh [FILTER...] — the leak corpus's scoreboard: builds
# leakscope, installs the corpus's pinned npm packages into target/corpus,
# then hunts in every app of corpus/own and corpus/npm (or those whose path
# contains a FILTER) one after the other, and prints a Markdown table: app,
# expected culprit, verdict, named holder, bytes per request, confidence,
# seconds. Exit status 1 when any app is judged wrongly or takes over 90 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bash "$root/corpus/setup.sh" "$root/target/corpus" >/dev/null
exec node "$root/bench/corpus.mjs" "$@"
