#!/usr/bin/env bash
# The GitHub Action's hunt step (action.yml), runnable anywhere: hunts
# $COMMAND with leakscope ($LEAKSCOPE) and writes into $OUT the HTML report,
# hunt.json, junit.xml and summary.md; appends the summary to
# $GITHUB_STEP_SUMMARY and the counts to $GITHUB_OUTPUT when they are set.
# Exits as leakscope did: 0 clean (or nothing failing), 1 a leak fails the
# run, 2 bad input.
set -uo pipefail
: "${LEAKSCOPE:?set LEAKSCOPE to the leakscope binary or launcher}"
: "${OUT:?set OUT to a directory for the report}"
: "${COMMAND:?set COMMAND to the app to launch, e.g. node server.js}"
mkdir -p "$OUT"
args=(hunt --json --junit "$OUT/junit.xml" --markdown "$OUT/summary.md" --report "$OUT/report.html")
if [ -n "${ALLOW:-}" ]; then args+=(--allow "$ALLOW"); fi
if [ -n "${BASELINE:-}" ]; then args+=(--baseline "$BASELINE"); fi
read -r -a extra <<<"${ARGS:-}"
read -r -a command <<<"$COMMAND"
"$LEAKSCOPE" "${args[@]}" "${extra[@]}" -- "${command[@]}" >"$OUT/hunt.json"
status=$?
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$OUT/summary.md" ]; then
  cat "$OUT/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  leaks=$(node -e 'try { console.log(require(process.argv[1]).findings.length) } catch { console.log(0) }' "$OUT/hunt.json")
  failing=$(grep -o 'failures="[0-9]*"' "$OUT/junit.xml" 2>/dev/null | head -1 | tr -dc 0-9)
  echo "leaks=$leaks" >>"$GITHUB_OUTPUT"
  echo "failing=${failing:-0}" >>"$GITHUB_OUTPUT"
fi
exit "$status"
