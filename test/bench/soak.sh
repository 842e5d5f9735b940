#!/usr/bin/env bash
# The soak run: starts chanstate-node on a free loopback port, drives it with
# `chanstate-bench soak` (SOAK_CLIENTS clients for SOAK_SECONDS seconds),
# then stops the node by its pid (also on failure and Ctrl-C) and checks that
# it lived through the run and exits cleanly.
# Usage: soak.sh NODE BENCH [extra chanstate-bench soak flags...]
# Env: SOAK_SECONDS [300], SOAK_CLIENTS [10000], SOAK_NODE_ARGS [""].
# Chaos (make soak-chaos): SOAK_CHAOS=1 gives the node a journal and
# SIGKILLs it every SOAK_KILL_MIN_S..SOAK_KILL_MAX_S seconds [20..40] (drawn
# with SOAK_SEED [1]), restarting it on the same port; the generator runs
# with --chaos and is told of each kill (SIGUSR1, before it) and restart
# (SIGUSR2, once the node listens; its pid in a file).
# Stdout: exactly one line, the generator's JSON. Progress goes to stderr.
set -u
. "$(dirname "$0")/bench_node.sh"
node=$1
bench=$2
shift 2
seconds=${SOAK_SECONDS:-300}
clients=${SOAK_CLIENTS:-10000}
chaos=${SOAK_CHAOS:-0}
kill_min=${SOAK_KILL_MIN_S:-20}
kill_max=${SOAK_KILL_MAX_S:-40}
tmp=$(mktemp -d)
node_pid=
bench_pid=

say() { echo "soak.sh: $*" >&2; }

cleanup() {
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null
    wait "$bench_pid" 2>/dev/null
  fi
  term_node 100 || kill_node
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# Each side holds one descriptor per client plus its own; the node also
# keeps dropped connections until it notices them.
need=$((2 * clients + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
  ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
  if [ "$(ulimit -n)" -lt $((clients + 256)) ]; then
    say "ulimit -n is $(ulimit -n), $clients clients need about $need"
    exit 2
  fi
fi

node_args=(--port=0)
# Room for every client, plus the dropped connections the node has not
# noticed yet (only if this node has the option).
if "$node" --help 2>&1 | grep -q -- '--max-connections'; then
  node_args+=("--max-connections=$((clients + clients / 2 + 256))")
fi
# shellcheck disable=SC2206 # word splitting is the point
node_args+=(${SOAK_NODE_ARGS:-})
bench_args=()
if [ "$chaos" = 1 ]; then
  node_args+=("--journal=$tmp/journal")
  bench_args+=(--chaos "--node-pid-file=$tmp/node.pid")
fi

# Starts the node with node_args; sets node_pid and url (its pid also in
# $tmp/node.pid).
start_soak_node() {
  if ! start_node "$tmp/node.out" "$tmp/node.err" "$node" "${node_args[@]}"; then
    say "the node did not start: $node ${node_args[*]}"
    sed 's/^/    /' "$tmp/node.err" >&2
    return 1
  fi
  url=${url%/websocket}
  echo "$node_pid" >"$tmp/node.pid"
}

start_soak_node || exit 2
say "node pid $node_pid at $url (${node_args[*]}); $clients clients, $seconds s"
# A restarted node listens where the clients reconnect: the same port.
port=${url##*:}
port=${port%%/*}
for i in "${!node_args[@]}"; do
  [ "${node_args[$i]}" = --port=0 ] && node_args[$i]="--port=$port"
done

# In the background, so that a signal to this script is handled at once
# (bash runs traps only between commands) and the trap can stop it.
"$bench" soak --url="$url" --node-pid="$node_pid" --clients="$clients" \
  --seconds="$seconds" "${bench_args[@]}" "$@" &
bench_pid=$!

kills=0
if [ "$chaos" = 1 ]; then
  RANDOM=${SOAK_SEED:-1}
  next_kill() { echo $((SECONDS + kill_min + RANDOM % (kill_max - kill_min + 1))); }
  kill_at=$(next_kill)
  # No kill in the last seconds: the final check runs against a node that
  # stays up.
  last_kill=$((SECONDS + seconds - 5))
  while kill -0 "$bench_pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$kill_at" ] && [ "$SECONDS" -lt "$last_kill" ]; then
      kill -USR1 "$bench_pid" # before the kill: its resets are expected
      kill -KILL "$node_pid"
      wait "$node_pid" 2>/dev/null
      kills=$((kills + 1))
      if ! start_soak_node; then
        node_pid=
        say "the node did not come back after kill $kills"
        exit 1
      fi
      kill -USR2 "$bench_pid"
      say "kill $kills: node restarted as pid $node_pid"
      kill_at=$(next_kill)
    fi
    sleep 0.2
  done
fi
wait "$bench_pid"
rc=$?
bench_pid=
if [ "$chaos" = 1 ]; then
  say "$kills node kills"
  if [ "$kills" -lt 1 ]; then
    say "no node kill happened: SOAK_SECONDS must pass SOAK_KILL_MIN_S + 5"
    [ "$rc" -eq 0 ] && rc=1
  fi
fi

if ! kill -0 "$node_pid" 2>/dev/null; then
  wait "$node_pid"
  say "the node died during the run (exit $?); its stderr ends with:"
  tail -n 20 "$tmp/node.err" | sed 's/^/    /' >&2
  node_pid=
  exit 1
fi
# A clean stop: SIGTERM closes every channel normally and exits 0.
term_node 100
if [ "$node_rc" != 0 ]; then
  say "the node did not stop cleanly on SIGTERM ($node_rc)"
  tail -n 20 "$tmp/node.err" | sed 's/^/    /' >&2
  [ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
