#!/usr/bin/env bash
# The node's scheduler settings, A/B in one sitting: for ROUNDS rounds, each
# scenario runs once against a fresh chanstate-node per setting, the order
# of the settings rotating every round. Scenarios:
#   ws     chanstate-bench ws (50 clients x 2000 get round trips)
#   burst  chanstate-bench ws --crash --clients=BURST --requests=0: BURST
#          channels crash at once over WebSocket, every client rejoins
#   storm  chanstate-bench soak --clients=STORM for STORM_S s, a storm
#          (crash/drop/leave) every 4 s
# Each JSON line gets the setting's name, the node's CPU seconds during the
# scenario (node_cpu_s), the 1-minute load average at its start and, if the
# generator failed, the last line it wrote to stderr; lines go to OUT, the
# medians per scenario and setting are printed (jq). Before each run it
# waits (up to 70 s) for fewer than TW_MAX sockets in TIME_WAIT: thousands
# of connections per run otherwise run the machine out of ports.
# Usage: sched_figures.sh BENCH NODE OUT [ROUNDS [SCENARIOS]]
# Env: SCHED_SETTINGS: "name=node flags;name=node flags;..." (default below),
#      BURST [5000], STORM [5000], STORM_S [15], TW_MAX [20000].
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bench_node.sh"
bench=$1
node=$2
out=$3
rounds=${4:-5}
scenarios=${5:-"ws burst storm"}
burst=${BURST:-5000}
storm=${STORM:-5000}
storm_s=${STORM_S:-15}
settings=${SCHED_SETTINGS:-"default=;stealing-2=--scheduler.policy=stealing --scheduler.max-threads=2;stealing-1=--scheduler.policy=stealing --scheduler.max-threads=1;sharing-2=--scheduler.policy=sharing --scheduler.max-threads=2;sharing-1=--scheduler.policy=sharing --scheduler.max-threads=1"}
work=$(mktemp -d /tmp/chanstate-sched-bench.XXXXXX)
tck=$(getconf CLK_TCK)
node_pid=
trap 'stop_node; rm -rf "$work"' EXIT
need=$((2 * (burst > storm ? burst : storm) + 1024))
ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

IFS=';' read -r -a names_flags <<<"$settings"

cpu_ticks() { # utime + stime of pid $1
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

time_wait() {
  ss -tan state time-wait 2>/dev/null | tail -n +2 | wc -l
}

run_one() { # run_one NAME FLAGS SCENARIO ROUND
  local name=$1 flags=$2 scenario=$3 url t0 t1 load
  for _ in $(seq 1 70); do
    [ "$(time_wait)" -lt "${TW_MAX:-20000}" ] && break
    sleep 1
  done
  # shellcheck disable=SC2086 # the flags are words
  if ! start_node "$work/node.out" "$work/node.err" \
      "$node" --port=0 --max-connections=$((need)) $flags; then
    echo "   node $name did not start" >&2
    return
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(cpu_ticks "$node_pid")
  local args
  case $scenario in
    ws) args=(ws "--url=$url") ;;
    burst) args=(ws "--url=$url" "--clients=$burst" --requests=0 --crash) ;;
    storm) args=(soak "--url=$url" "--clients=$storm" "--seconds=$storm_s"
                 --storm-every-ms=4000 --rate=2000) ;;
  esac
  echo "== $scenario $name round $4" >&2
  local line
  line=$(timeout 300 "$bench" "${args[@]}" 2>"$work/bench.err" | tail -1)
  t1=$(cpu_ticks "$node_pid")
  stop_node
  if [ -z "$line" ]; then
    echo "   failed: $scenario $name" >&2
    return
  fi
  jq -c --arg s "$name" --arg sc "$scenario" --argjson load "$load" \
    --argjson cpu "$(echo "scale=3; ($t1 - $t0) / $tck" | bc)" \
    --arg err "$(grep -v '^soak: \|^ws: ' "$work/bench.err" | tail -1)" \
    '. + {setting: $s, case: $sc, load1: $load, node_cpu_s: $cpu}
     + if (.errors // 0) > 0 then {gen_error: $err} else {} end' \
    <<<"$line" >>"$out"
}

n=${#names_flags[@]}
for r in $(seq 1 "$rounds"); do
  for scenario in $scenarios; do
    for i in $(seq 0 $((n - 1))); do
      nf=${names_flags[$(((i + r) % n))]}
      run_one "${nf%%=*}" "${nf#*=}" "$scenario" "$r"
    done
  done
done

jq -s '
  def med: map(select(. != null)) | sort
    | if length == 0 then null else .[length / 2 | floor] end;
  group_by(.case) | map({(.[0].case): (group_by(.setting) | map({
    setting: .[0].setting, n: length, load1: map(.load1) | med,
    errors: map(.errors) | add,
    lost: map(.lost // 0) | add, stale: map(.stale // 0) | add}
    + if .[0].case == "ws" then {
        round_trips_per_s: map(.round_trips_per_s) | med,
        p50_ms: map(.p50_ms) | med, p99_ms: map(.p99_ms) | med,
        node_cpu_us_per_rt: map(.node_cpu_s * 1e6 / (.clients * .requests))
          | med,
        client_cpu_us_per_rt: map(.client_cpu_us_per_rt) | med}
      elif .[0].case == "burst" then {
        recoveries_per_s: map(.recoveries_per_s) | med,
        recover_p50_ms: map(.recover_p50_ms) | med,
        recover_p99_ms: map(.recover_p99_ms) | med,
        node_cpu_us_per_client: map(.node_cpu_s * 1e6 / .clients) | med}
      else {
        recover_p50_ms: map(.recover_p50_ms) | med,
        recover_p99_ms: map(.recover_p99_ms) | med,
        storm_max_s: map(.storm_max_s) | med,
        node_cpu_s: map(.node_cpu_s) | med} end))}) | add' "$out"
