#!/usr/bin/env bash
# Smoke test of chanstate-bench (not timed): every scenario once with tiny
# sizes; checks the JSON contract and that no state was lost or stale.
# Usage: smoke.sh BENCH [NODE]. With a NODE that can serve (--port=0 prints
# its ws:// URL), the ws scenario runs against it; the node is killed by pid.
set -u
. "$(dirname "$0")/bench_node.sh"
bench=$1
node=${2:-}
failures=0
tmp=$(mktemp -d)
node_pid=
cleanup() {
  stop_node
  rm -rf "$tmp"
}
trap cleanup EXIT

# run NAME FIELDS... -- ARGS...: runs the bench, checks fields and zeros.
run() {
  local name=$1
  shift
  local fields=()
  while [ "$1" != "--" ]; do
    fields+=("$1")
    shift
  done
  shift
  local out rc
  out=$(timeout 120 "$bench" "$@" 2>"$tmp/err")
  rc=$?
  last_out=$out
  local lines
  lines=$(printf '%s\n' "$out" | grep -c .)
  if [ "$rc" -ne 0 ] || [ "$lines" -ne 1 ]; then
    echo "FAIL $name: rc=$rc, $lines stdout lines: $out"
    sed 's/^/    /' "$tmp/err"
    failures=$((failures + 1))
    return
  fi
  local f
  for f in "${fields[@]}"; do
    if ! grep -q "\"$f\":" <<<"$out"; then
      echo "FAIL $name: no field $f in $out"
      failures=$((failures + 1))
    fi
  done
  for f in lost stale errors; do
    if grep -q "\"$f\":" <<<"$out" && ! grep -q "\"$f\":0[,}]" <<<"$out"; then
      echo "FAIL $name: $f is not 0: $out"
      failures=$((failures + 1))
    fi
  done
  echo "ok   $name: $out"
}

tiny=(--warmup=0 --scheduler.max-threads=2)
run steady scenario channels events events_per_s_on events_per_s_off ratio_on_off \
  -- steady --channels=20 --events=30 "${tiny[@]}"
run steady-sharing scenario events_per_s_on \
  -- steady --channels=10 --events=20 --warmup=0 --scheduler.policy=sharing
for p in list100 bin1k; do
  run "recover-$p" scenario channels payload recoveries_per_s p50_ms p99_ms lost stale \
    -- recover --channels=50 --payload=$p "${tiny[@]}"
done
run kill scenario channels lost stale recoveries_per_s \
  -- kill --channels=50 "${tiny[@]}"
run kill-after-crash scenario channels lost stale recoveries_per_s \
  -- kill --channels=50 --after-crash "${tiny[@]}"
for p in list100 bin1k; do
  run "memory-$p" scenario backups payload bytes_per_backup bytes_per_channel \
    -- memory --backups=200 --payload=$p
done
run scale scenario channels restored_ok lost stale join_s restore_all_s peak_rss_mb \
  join_p50_s crash_send_s registry \
  -- scale --channels=300 --transports=8 --scheduler.max-threads=2
# Every channel restored and checked, none ended otherwise.
if ! grep -q '"restored_ok":300,' <<<"$last_out" \
  || ! grep -q '"other":0,' <<<"$last_out"; then
  echo "FAIL scale: not every channel restored: $last_out"
  failures=$((failures + 1))
fi

# The help text and a typo.
"$bench" --help | grep -q "recoveries_per_s" || {
  echo "FAIL --help"
  failures=$((failures + 1))
}
if "$bench" steady --chanels=3 >/dev/null 2>&1; then
  echo "FAIL a misspelled flag was accepted"
  failures=$((failures + 1))
fi

# ws against a node on a free loopback port, if this node can serve.
url=
if [ -n "$node" ] && [ -x "$node" ]; then
  start_node "$tmp/node.out" "$tmp/node.err" "$node" --port=0
fi
if [ -n "$url" ]; then
  url=${url%/websocket}
  run ws scenario url clients requests round_trips_per_s p50_ms p99_ms errors \
    -- ws --url="$url" --clients=4 --requests=20
  run ws-crash scenario round_trips_per_s recoveries_per_s lost errors \
    -- ws --url="$url" --clients=4 --requests=5 --crash
  run ws-hold scenario held heartbeats_ok gets_ok get_p99_ms \
    rss_per_client_kb errors \
    -- ws-hold --url="$url" --node-pid="$node_pid" --clients=20 --procs=2 \
    --seconds=2 --heartbeat-ms=500 --get-rate=50
else
  echo "skip ws: ${node:-no node given} does not serve (no ws:// URL line)"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "bench smoke: all ok"
