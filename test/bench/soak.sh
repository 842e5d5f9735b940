#!/usr/bin/env bash
# The soak run: starts chanstate-node on a free loopback port, drives it with
# `chanstate-bench soak` (SOAK_CLIENTS clients for SOAK_SECONDS seconds),
# then stops the node by its pid (also on failure and Ctrl-C) and checks that
# it lived through the run and exits cleanly.
# Usage: soak.sh NODE BENCH [extra chanstate-bench soak flags...]
# Env: SOAK_SECONDS [300], SOAK_CLIENTS [10000], SOAK_NODE_ARGS [""].
# Stdout: exactly one line, the generator's JSON. Progress goes to stderr.
set -u
. "$(dirname "$0")/wait_for_url.sh"
node=$1
bench=$2
shift 2
seconds=${SOAK_SECONDS:-300}
clients=${SOAK_CLIENTS:-10000}
tmp=$(mktemp -d)
node_pid=
bench_pid=

say() { echo "soak.sh: $*" >&2; }

cleanup() {
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null
    wait "$bench_pid" 2>/dev/null
  fi
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null
    for _ in $(seq 1 100); do
      kill -0 "$node_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
  fi
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

"$node" "${node_args[@]}" >"$tmp/node.out" 2>"$tmp/node.err" &
node_pid=$!
if ! url=$(wait_for_url "$tmp/node.out" "$node_pid"); then
  say "the node did not start: $node ${node_args[*]}"
  sed 's/^/    /' "$tmp/node.err" >&2
  exit 2
fi
url=${url%/websocket}
say "node pid $node_pid at $url (${node_args[*]}); $clients clients, $seconds s"

# In the background, so that a signal to this script is handled at once
# (bash runs traps only between commands) and the trap can stop it.
"$bench" soak --url="$url" --node-pid="$node_pid" --clients="$clients" \
  --seconds="$seconds" "$@" &
bench_pid=$!
wait "$bench_pid"
rc=$?
bench_pid=

if ! kill -0 "$node_pid" 2>/dev/null; then
  wait "$node_pid"
  say "the node died during the run (exit $?); its stderr ends with:"
  tail -n 20 "$tmp/node.err" | sed 's/^/    /' >&2
  node_pid=
  exit 1
fi
# A clean stop: SIGTERM closes every channel normally and exits 0.
kill -TERM "$node_pid"
node_rc=timeout
for _ in $(seq 1 100); do
  if ! kill -0 "$node_pid" 2>/dev/null; then
    wait "$node_pid"
    node_rc=$?
    break
  fi
  sleep 0.1
done
if [ "$node_rc" != 0 ]; then
  say "the node did not stop cleanly on SIGTERM ($node_rc)"
  tail -n 20 "$tmp/node.err" | sed 's/^/    /' >&2
  [ "$rc" -eq 0 ] && rc=1
fi
[ "$node_rc" != timeout ] && node_pid=
exit "$rc"
