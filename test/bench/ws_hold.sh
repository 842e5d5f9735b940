#!/usr/bin/env bash
# Many held WebSocket clients on one node: starts chanstate-node on a free
# loopback port with room for them, runs `chanstate-bench ws-hold` with the
# clients spread over generator processes (each may open only `ulimit -Hn`
# descriptors), then stops the node by pid and checks that it exits 0.
# Usage: ws_hold.sh NODE BENCH [extra ws-hold flags...]
# Env: HOLD_CLIENTS [10000], HOLD_SECONDS [60], HOLD_NODE_ARGS [""].
# Stdout: the generator's JSON line. Progress goes to stderr.
set -u
. "$(dirname "$0")/bench_node.sh"
node=$1
bench=$2
shift 2
clients=${HOLD_CLIENTS:-10000}
seconds=${HOLD_SECONDS:-60}
tmp=$(mktemp -d)
node_pid=
say() { echo "ws_hold.sh: $*" >&2; }
cleanup() {
  kill_node
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# The node and every generator process raise their soft limit to the hard
# one; the node needs one descriptor per client plus its own.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
limit=$(ulimit -n)
if [ "$limit" != unlimited ] && [ "$clients" -gt $((limit - 256)) ]; then
  say "one node may open $limit descriptors here: at most $((limit - 256)) clients"
  exit 2
fi
# Generators: each holds at most its limit less a margin; above 5 000
# clients at least two, so one thread does not bound the heartbeats.
per_proc=$clients
[ "$limit" != unlimited ] && per_proc=$((limit - 256))
procs=$(( (clients + per_proc - 1) / per_proc ))
[ "$procs" -lt 2 ] && [ "$clients" -gt 5000 ] && procs=2

# shellcheck disable=SC2206 # word splitting is the point
node_args=(--port=0 "--max-connections=$((clients + 256))" ${HOLD_NODE_ARGS:-})
if ! start_node "$tmp/node.out" "$tmp/node.err" "$node" "${node_args[@]}"; then
  say "the node did not start"
  sed 's/^/    /' "$tmp/node.err" >&2
  exit 2
fi
say "node pid $node_pid at $url; $clients clients in $procs processes, $seconds s"
"$bench" ws-hold --url="$url" --node-pid="$node_pid" --clients="$clients" \
  --seconds="$seconds" --procs="$procs" "$@"
rc=$?
if ! kill -0 "$node_pid" 2>/dev/null; then
  say "the node died during the run"
  exit 1
fi
if ! term_node 300; then
  say "the node did not stop on SIGTERM within 30 s"
  exit 1
fi
if [ "$node_rc" != 0 ]; then
  say "the node exited $node_rc on SIGTERM"
  [ "$rc" -eq 0 ] && rc=1
fi
exit "$rc"
