# shellcheck shell=bash
# Sourced by the bench scripts that start a chanstate-node on a free
# loopback port: start it, wait for the URL it prints, stop it by its pid.
# The node's pid is in node_pid (empty: none running), its URL in url.

# wait_for_url OUT PID: prints the ws:// URL the node wrote to OUT; fails if
# the node died or printed none within 10 s.
wait_for_url() {
  local url
  for _ in $(seq 1 100); do
    url=$(grep -o -m1 'ws://[^ ]*' "$1" 2>/dev/null)
    if [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start_node OUT ERR NODE ARGS...: runs NODE ARGS in the background, stdout
# to OUT, stderr appended to ERR ("-": to OUT as well); sets node_pid and
# url. Fails, with the node stopped, if it printed no URL.
start_node() {
  local out=$1 err=$2
  shift 2
  if [ "$err" = - ]; then
    "$@" >"$out" 2>&1 &
  else
    "$@" >"$out" 2>>"$err" &
  fi
  node_pid=$!
  if ! url=$(wait_for_url "$out" "$node_pid"); then
    stop_node
    return 1
  fi
}

# stop_node: SIGTERM to the node, then waits for it however long it takes.
stop_node() {
  if [ -n "$node_pid" ]; then
    kill "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
    node_pid=
  fi
}

# kill_node: SIGKILL to the node if it still runs, and reaps it.
kill_node() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -KILL "$node_pid" 2>/dev/null
    wait "$node_pid" 2>/dev/null
  fi
  node_pid=
}

# term_node TENTHS: SIGTERM to the node, then up to TENTHS tenths of a
# second for it to exit. Sets node_rc to its exit status (node_pid
# cleared), or to "timeout" and fails (the node still runs).
# shellcheck disable=SC2034 # node_rc is the caller's
term_node() {
  node_rc=
  [ -n "$node_pid" ] || return 0
  kill -TERM "$node_pid" 2>/dev/null
  node_rc=timeout
  for _ in $(seq 1 "$1"); do
    if ! kill -0 "$node_pid" 2>/dev/null; then
      wait "$node_pid"
      node_rc=$?
      node_pid=
      return 0
    fi
    sleep 0.1
  done
  return 1
}
