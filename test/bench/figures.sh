#!/usr/bin/env bash
# Runs every chanstate-bench scenario with its defaults, ROUNDS times, and
# appends the JSON lines to OUT (the scheduler policies and the WebSocket
# figures; the side-by-side with the OTP peer is `make bench`).
# Usage: figures.sh BENCH NODE OUT [ROUNDS]
# Medians: jq -s 'group_by(.scenario,.payload,.after_crash,.scheduler.policy,.channel)
#   | map({k: (.[0] | [.scenario,.payload,.after_crash,.scheduler.policy,.channel]),
#          n: length, v: map(.recoveries_per_s // .events_per_s_on // .round_trips_per_s // .bytes_per_backup)
#          | sort | .[length/2|floor]})' OUT
set -u
. "$(dirname "$0")/bench_node.sh"
bench=$1
node=$2
out=$3
rounds=${4:-3}
node_pid=
trap stop_node EXIT

run() {
  echo "== $*" >&2
  timeout 170 "$bench" "$@" 2>/dev/null >>"$out" || echo "   failed: $*" >&2
}

for r in $(seq 1 "$rounds"); do
  for pol in stealing sharing; do
    run steady --scheduler.policy=$pol
    run steady --channel=bench --scheduler.policy=$pol
    for p in list100 bin1k; do
      run recover --payload=$p --scheduler.policy=$pol
    done
    run kill --scheduler.policy=$pol
    run kill --after-crash --scheduler.policy=$pol
  done
  for p in list100 bin1k; do
    run memory --payload=$p
  done
  if start_node "$out.node" - "$node" --port=0; then
    run ws --url="$url"
    run ws --url="$url" --crash
  fi
  stop_node
done
