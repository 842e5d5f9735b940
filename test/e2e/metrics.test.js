// GET /metrics: valid Prometheus text (promtool check metrics), counters
// that move as a scripted phoenix.js client crashes and rejoins, and the
// same figures as /stats.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { spawnSync } = require("node:child_process")
const { join, next, until } = require("./lib/phx")
const { nodePerFile } = require("./lib/per_file")
const { httpGet, stats } = require("./lib/node")

const file = nodePerFile()
const promtool = process.env.PROMTOOL || "promtool"

async function scrape() {
  const r = await httpGet(file.node.port, "/metrics")
  assert.equal(r.status, 200, r.body)
  return r
}

/// The exposition as a map: 'name{a="x",b="y"}' (labels sorted) → number.
function parse(text) {
  const samples = new Map()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/)
    assert.ok(m, `not a sample line: ${line}`)
    const labels = (m[2] || "").split(",").filter(Boolean).sort().join(",")
    samples.set(labels ? `${m[1]}{${labels}}` : m[1], Number(m[3]))
  }
  return samples
}

const get = (samples, key) => {
  assert.ok(samples.has(key), `no sample ${key}`)
  return samples.get(key)
}

test("the exposition passes promtool check metrics", async () => {
  const r = await scrape()
  assert.match(r.headers["content-type"], /^text\/plain; version=0\.0\.4/)
  const check = spawnSync(promtool, ["check", "metrics"], { input: r.body, encoding: "utf8" })
  assert.equal(check.error, undefined, `${promtool} not runnable (Debian package prometheus): ${check.error}`)
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`)
  assert.equal(check.stdout + check.stderr, "", "no lint findings")
})

test("counters move as a client crashes, rejoins and leaves", async () => {
  const before = parse((await scrape()).body)
  const ch = file.client("metrics-a").channel("room:metrics")
  let rejoined
  const rejoin = new Promise(r => { rejoined = r })
  assert.deepEqual(await join(ch, rejoined), { restored: false, ns: [] })
  ch.push("add", { n: 5 })
  const errored = next(cb => ch.onError(cb), 5000, "phx_error")
  ch.push("oopsy", {})
  await errored
  assert.deepEqual(await rejoin, { restored: true, ns: [5] })

  const mid = parse((await scrape()).body)
  const moved = key => get(mid, key) - get(before, key)
  assert.equal(moved('chanstate_joins_total{outcome="fresh"}'), 1)
  assert.equal(moved('chanstate_joins_total{outcome="restored"}'), 1)
  assert.equal(moved('chanstate_channel_exits_total{backup="kept",exit="crash"}'), 1)
  assert.equal(get(mid, "chanstate_live_channels"), 1)
  assert.equal(get(mid, "chanstate_connections_open"), 1)
  assert.equal(moved("chanstate_connections_total"), 1)
  assert.ok(moved('chanstate_frames_total{direction="in"}') >= 4) // join, add, oopsy, rejoin
  assert.ok(moved('chanstate_frames_total{direction="out"}') >= 3)
  assert.ok(moved('chanstate_transferred_bytes_total{direction="in"}') > 0)
  assert.equal(get(mid, "chanstate_registry_up"), 1)
  // The restore (join frame → restored join reply) was timed once.
  assert.equal(moved("chanstate_restore_latency_seconds_count"), 1)
  assert.equal(moved('chanstate_restore_latency_seconds_bucket{le="+Inf"}'), 1)
  assert.ok(moved("chanstate_restore_latency_seconds_sum") > 0)

  await new Promise(resolve => ch.leave().receive("ok", resolve))
  const after = parse((await scrape()).body)
  assert.equal(get(after, 'chanstate_channel_exits_total{backup="discarded",exit="normal"}')
    - get(before, 'chanstate_channel_exits_total{backup="discarded",exit="normal"}'), 1)
  assert.equal(get(after, "chanstate_live_channels"), 0)
  assert.equal(get(after, "chanstate_backups"), 0)
})

test("/metrics shows what /stats shows", async () => {
  // A live channel and an error reply (unmatched topic), so that not every
  // figure is zero.
  const socket = file.client("metrics-b")
  const ch = socket.channel("room:agree")
  await join(ch)
  // One join frame, not a phoenix.js channel that would keep retrying it.
  const ref = socket.makeRef()
  socket.push({ topic: "nomatch:1", event: "phx_join", payload: {}, ref, join_ref: ref })
  const s = await until(async () => {
    const x = await stats(file.node.port)
    return x.transport.error_replies >= 1 && x
  }, 5000, "the error reply")
  const r = await scrape()
  const m = parse(r.body)
  // Labels have low cardinality: no topic or client id is ever one.
  for (const line of r.body.split("\n").filter(l => !l.startsWith("#")))
    assert.doesNotMatch(line, /room:|nomatch|metrics-[ab]/, line)
  const pairs = [
    ["chanstate_live_channels", s.live_channels],
    ["chanstate_backups", s.backups],
    ["chanstate_backup_bytes", s.backup_bytes],
    ['chanstate_joins_total{outcome="restored"}', s.restores.from_backup],
    ['chanstate_joins_total{outcome="taken_over"}', s.restores.from_takeover],
    ['chanstate_joins_total{outcome="fresh"}', s.restores.fresh],
    ['chanstate_joins_total{outcome="quarantined"}', s.restores.refused_poison],
    ["chanstate_joins_fallback_total", s.restores.fallback],
    ['chanstate_channel_exits_total{backup="kept",exit="crash"}', s.exits.kept_after_crash],
    ['chanstate_channel_exits_total{backup="kept",exit="other_abnormal"}', s.exits.kept_after_other],
    ['chanstate_channel_exits_total{backup="discarded",exit="normal"}', s.exits.discarded_normal],
    ['chanstate_backups_dropped_total{cause="expired"}', s.drops.expired],
    ['chanstate_backups_dropped_total{cause="evicted"}', s.drops.evicted],
    ['chanstate_backups_dropped_total{cause="quarantined"}', s.drops.quarantined],
    ['chanstate_guard_actions_total{action="fallback"}', s.quarantine.fallbacks],
    ['chanstate_guard_actions_total{action="quarantine"}', s.quarantine.quarantined],
    ["chanstate_crashes_without_progress_total", s.quarantine.crashes_without_progress],
    ['chanstate_commits_refused_total{reason="assigns_too_large"}', s.commits_refused.assigns_too_large],
    ["chanstate_connections_open", s.transport.connections_open],
    ["chanstate_connections_total", s.transport.connections_total],
    ['chanstate_joins_refused_total{reason="rate_limit"}', s.transport.joins_rate_limited],
    ['chanstate_connection_closes_total{cause="client_close"}', s.transport.closes.client_close],
    ["chanstate_error_replies_total", s.transport.error_replies],
    ["chanstate_backups_limit", s.limits.max_backups],
  ]
  for (const [key, want] of pairs) assert.equal(get(m, key), want, key)
})
