# Sourced by the bench scripts that start a chanstate-node.
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
