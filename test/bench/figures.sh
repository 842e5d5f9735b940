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
bench=$1
node=$2
out=$3
rounds=${4:-3}
node_pid=
cleanup() {
  if [ -n "$node_pid" ]; then
    kill "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
  fi
}
trap cleanup EXIT

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
  "$node" --port=0 >"$out.node" 2>&1 &
  node_pid=$!
  url=
  for _ in $(seq 1 100); do
    url=$(grep -o -m1 'ws://[^ ]*' "$out.node" 2>/dev/null) && [ -n "$url" ] && break
    sleep 0.1
  done
  if [ -n "$url" ]; then
    run ws --url="$url"
    run ws --url="$url" --crash
  fi
  cleanup
  node_pid=
done
