#!/usr/bin/env bash
# The allocator A/B in one sitting: each BENCH is a chanstate-bench built
# with a different CHANSTATE_ALLOCATOR (cmake -DCHANSTATE_ALLOCATOR=...); a
# mimalloc build runs twice, on large OS pages (its default) and with
# MIMALLOC_LARGE_OS_PAGES=0. Every round runs every variant in turn on
# `recover --payload=list100|bin1k`, `steady` and `scale --channels=SCALE`,
# appends the JSON lines (with a "variant" field) to OUT and at the end
# prints the medians per variant.
# Usage: alloc_figures.sh OUT ROUNDS SCALE BENCH [BENCH ...]
set -u
out=$1
rounds=$2
scale=$3
shift 3

run() { # run VARIANT ENV BENCH ARGS...
  local variant=$1 env=$2 bench=$3
  shift 3
  echo "== $variant $*" >&2
  env $env timeout 300 "$bench" "$@" 2>/dev/null \
    | jq -c --arg v "$variant" '. + {variant: $v}' >>"$out" \
    || echo "   failed: $variant $*" >&2
}

variants=()
for bench in "$@"; do
  name=$(env -u MIMALLOC_LARGE_OS_PAGES "$bench" steady --channels=1 \
           --events=1 2>/dev/null | jq -r .allocator)
  case $name in
    mimalloc*) variants+=("mimalloc-2MiB|MIMALLOC_LARGE_OS_PAGES=1|$bench"
                          "mimalloc-4KiB|MIMALLOC_LARGE_OS_PAGES=0|$bench") ;;
    *) variants+=("${name%% *}|CHANSTATE_UNUSED=1|$bench") ;;
  esac
done

for r in $(seq 1 "$rounds"); do
  for v in "${variants[@]}"; do
    IFS='|' read -r variant env bench <<<"$v"
    run "$variant" "$env" "$bench" recover --payload=list100
    run "$variant" "$env" "$bench" recover --payload=bin1k
    run "$variant" "$env" "$bench" steady
    run "$variant" "$env" "$bench" scale --channels="$scale"
  done
done

jq -s -r '
  def med: sort | .[length / 2 | floor];
  group_by(.variant)[] | . as $all | .[0].variant as $v
  | [ ($all | map(select(.scenario == "recover" and .payload == "list100"))),
      ($all | map(select(.scenario == "recover" and .payload == "bin1k"))),
      ($all | map(select(.scenario == "steady"))),
      ($all | map(select(.scenario == "scale"))) ] as [$l, $b, $s, $c]
  | "\($v): recover list100 \($l | map(.recoveries_per_s) | med) /s "
    + "(\($l | map(.cpu_us_per_recovery) | med) us CPU), "
    + "bin1k \($b | map(.recoveries_per_s) | med) /s; "
    + "steady \($s | map(.events_per_s_on) | med) /s "
    + "(on/off \($s | map(.ratio_on_off) | med)); "
    + "scale restore_all_s \($c | map(.restore_all_s) | med), "
    + "\($c | map(.cpu_us_per_restore) | med) us CPU, "
    + "joined \($c | map(.bytes_per_joined_channel) | med | floor) B/channel, "
    + "peak \($c | map(.peak_rss_mb) | med | floor) MB"' "$out"
