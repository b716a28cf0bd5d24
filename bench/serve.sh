#!/usr/bin/env bash
# bench/serve.sh [FILE.heapsnapshot [BASE.heapsnapshot]] — `leakscope serve`
# on a big snapshot (by default the 1 GB one bench/run.sh generates): seconds
# until the page can show it, the server's peak RSS, and the server time of
# each interaction the page makes (curl's time_total over loopback: a cold
# first call, then the best of three). With BASE (an earlier snapshot of
# the same process), the Comparison too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/bench
mkdir -p "$out"
file=${1:-$out/snap-1gb.heapsnapshot}
base_file=${2:-}
if [ ! -s "$file" ]; then
  echo "generating $file…" >&2
  (cd "$out" && node --max-old-space-size=16000 "$root/bench/gen-snapshot.js" 225000 "$file" >&2)
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml"

rm -f "$out/serve.url"
start=$(date +%s.%N)
"$root/target/release/leakscope" serve --no-cache "$file" $base_file >"$out/serve.url" 2>"$out/serve.err" </dev/null &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
until [ -s "$out/serve.url" ]; do sleep 0.05; done
url=$(head -1 "$out/serve.url")
base=${url%%/#token=*}
token=${url##*token=}
cookie="X-Leakscope-Token: $token"
get() { curl -sf -H "$cookie" "$base$1"; }
while :; do
  states=$(get /api/snapshots)
  case $states in
    *'"state":"failed"'*) echo "$states" >&2; exit 1 ;;
    *'"state":"loading"'*) ;;
    *'"state":"ready"'*) break ;;
  esac
  sleep 0.2
done
ready=$(echo "$(date +%s.%N) - $start" | bc)
# Measure both: the first view right away (cold), then, once the server has
# computed ahead what the slow views need, every interaction (warm).

# The ids and keys the page would click on: the class with the most
# instances, its largest instance, the root.
read -r key count < <(get /api/s/0/classes | python3 -c '
import json, sys, urllib.parse
classes = json.load(sys.stdin)
big = max(classes, key=lambda c: c["count"])
print(urllib.parse.quote(big["key"]), big["count"])')

time_of() { curl -sf -o /dev/null -w '%{time_total}' -H "$cookie" "$base$1"; }
cold_summary=$(time_of /api/s/0/classes)
until get /api/snapshots | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[0]["warm"] else 1)'; do sleep 0.2; done
warm=$(echo "$(date +%s.%N) - $start" | bc)
echo "| interaction | first call (ms) | best of 3 (ms) |"
echo "|---|---|---|"
printf '| Summary right after loading (cold) | %.0f | |\n' "$(echo "$cold_summary * 1000" | bc -l)"
measure() { # label path
  local first best t
  first=$(time_of "$2")
  best=$first
  for _ in 1 2 3; do
    t=$(time_of "$2")
    best=$(echo "if ($t < $best) $t else $best" | bc -l)
  done
  printf '| %s | %.0f | %.0f |\n' "$1" "$(echo "$first * 1000" | bc -l)" "$(echo "$best * 1000" | bc -l)"
}
measure "overview (Statistics)" /api/s/0/overview
measure "Summary: all classes" /api/s/0/classes
measure "expand the class with most instances ($count): first 200" "/api/s/0/instances?key=$key&limit=200"
measure "…scrolled to its last 200" "/api/s/0/instances?key=$key&offset=$((count - 200))&limit=200"
id=$(get "/api/s/0/instances?key=$key&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
root=$(get /api/s/0/overview | python3 -c 'import json,sys; print(json.load(sys.stdin)["rootId"])')
measure "an instance's fields" "/api/s/0/fields/$id"
measure "its retainers" "/api/s/0/retainers/$id"
measure "its retaining path" "/api/s/0/path/$id"
measure "Containment: the root's fields" "/api/s/0/fields/$root"
measure "Dominators: the root's children" "/api/s/0/dominated/$root"
measure "Duplicated strings (first 200)" "/api/s/0/strings"
measure "search @id" "/api/s/0/search?q=%40$id"
measure "search text: the first 200 of every match" "/api/s/0/search?q=session&limit=200"
matches=$(get "/api/s/0/search?q=session&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
measure "…its last 200 ($matches matches)" "/api/s/0/search?q=session&offset=$((matches > 200 ? matches - 200 : 0))&limit=200"
measure "reveal an instance in the Summary" "/api/s/0/locate/$id"
measure "several retaining paths" "/api/s/0/paths/$id"
measure "Duplicated strings: the holders of the first" "/api/s/0/strings/0/holders"
maxid=$(get /api/s/0/overview | python3 -c 'import json,sys; print(json.load(sys.stdin)["maxJsId"])')
measure "Summary filter: objects retained by event handlers" "/api/s/0/classes?only=handlers"
measure "Summary filter: objects retained by detached DOM nodes" "/api/s/0/classes?only=detached"
measure "Summary filter: objects allocated before this snapshot (not offered: all of it)" "/api/s/0/classes?only=ids:0:$maxid"
if [ -n "$base_file" ]; then
  # The server compares each snapshot with the one before it ahead, after
  # its warm-up: wait for that, and time a comparison made on the click too.
  until get /api/snapshots | python3 -c 'import json,sys; sys.exit(0 if all(s["warm"] for s in json.load(sys.stdin)) else 1)'; do sleep 0.2; done
  measure "Comparison with the previous snapshot (made ahead)" "/api/compare?base=0&current=1"
  measure "Comparison the other way (made on the click, then kept)" "/api/compare?base=1&current=0"
  read -r gkey gcount < <(get "/api/compare?base=1&current=0" | python3 -c '
import json, sys, urllib.parse
rows = json.load(sys.stdin)
big = max(rows, key=lambda r: r["addedCount"] + r["removedCount"])
print(urllib.parse.quote(big["key"]), big["addedCount"] + big["removedCount"])')
  measure "expand the class that changed most ($gcount objects): first 200" "/api/compare/members?base=1&current=0&key=$gkey&limit=200"
  maxid1=$(get /api/s/1/overview | python3 -c 'import json,sys; print(json.load(sys.stdin)["maxJsId"])')
  lo=$(( maxid < maxid1 ? maxid : maxid1 )); hi=$(( maxid < maxid1 ? maxid1 : maxid ))
  later=$(( maxid < maxid1 ? 1 : 0 ))
  measure "Summary filter on the later: objects allocated between the two" "/api/s/$later/classes?only=ids:$lo:$hi"
  measure "Summary filter on the later: objects allocated before the earlier" "/api/s/$later/classes?only=ids:0:$lo"
  measure "…its class with most instances: first 200" "/api/s/$later/instances?key=$key&limit=200&only=ids:0:$lo"
  measure "…scrolled to its last 200" "/api/compare/members?base=1&current=0&key=$gkey&offset=$((gcount - 200))&limit=200"
fi
holder=$(get "/api/s/0/retainers/$id?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
measure "ignore its first retainer (distances recomputed once)" "/api/s/0/retainers/$id?ignore=$holder"
echo
echo "first view after ${ready} s, every view warm after ${warm} s; server peak RSS $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status); file $(du -h "$file" | cut -f1)"
