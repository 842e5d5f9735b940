#!/usr/bin/env bash
# What durable acknowledgements cost, A/B in one sitting: first
# `steady --journal --ack=both --rounds=ROUNDS` (a durable and an async
# journaled run per round, swapping places every round; each run's figures
# go to OUT.steady.log), then ROUNDS rounds of `ws` against a node with
# --journal --ack=durable and one with --ack=async (order alternating per
# round). Appends JSON lines to OUT and prints the medians (jq).
# Usage: ack_figures.sh BENCH NODE OUT [ROUNDS]
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_node.sh"
bench=$1
node=$2
out=$3
rounds=${4:-3}
work=$(mktemp -d /tmp/chanstate-ack-bench.XXXXXX)
node_pid=
trap 'stop_node; rm -rf "$work"' EXIT

ws_against() { # ws_against MODE ROUND
  local mode=$1 dir="$work/node-$1-$2"
  if ! start_node "$work/node.out" - \
      "$node" --port=0 --journal="$dir" --ack="$mode"; then
    echo "   node --ack=$mode did not start" >&2
    return
  fi
  echo "== ws --ack=$mode round $2" >&2
  timeout 170 "$bench" ws --url="$url" 2>/dev/null \
    | jq -c --arg ack "$mode" '. + {ack: $ack}' >>"$out" \
    || echo "   failed: ws --ack=$mode" >&2
  stop_node
  rm -rf "$dir"
}

echo "== steady --journal --ack=both --rounds=$rounds" >&2
timeout $((300 * rounds)) "$bench" steady --channels=1000 --events=300 \
  --journal="$work/steady" --ack=both --rounds="$rounds" \
  2>"$out.steady.log" >>"$out" || echo "   failed: steady" >&2
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then
    ws_against durable "$r"; ws_against async "$r"
  else
    ws_against async "$r"; ws_against durable "$r"
  fi
done

jq -s '
  def med: sort | .[length / 2 | floor];
  {steady: (map(select(.scenario == "steady")) | {
     events_per_s_durable: map(.events_per_s_journal) | med,
     events_per_s_async: map(.events_per_s_journal_async) | med,
     ratio: map(.ratio_durable_async) | med,
     ratio_pairs: map(.ratio_durable_async_pairs) | med,
     cpu_us_per_event_durable: map(.cpu_us_per_event_journal) | med,
     cpu_us_per_event_async: map(.cpu_us_per_event_journal_async) | med,
     get_p50_ms_durable: map(.get_p50_ms_journal) | med,
     get_p99_ms_durable: map(.get_p99_ms_journal) | med,
     get_p50_ms_async: map(.get_p50_ms_journal_async) | med,
     get_p99_ms_async: map(.get_p99_ms_journal_async) | med}),
   ws: (map(select(.scenario == "ws")) | group_by(.ack) | map({
     ack: .[0].ack, n: length,
     round_trips_per_s: map(.round_trips_per_s) | med,
     p50_ms: map(.p50_ms) | med, p99_ms: map(.p99_ms) | med}))}' "$out"
