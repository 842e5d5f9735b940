// GET /metrics: valid Prometheus text (promtool check metrics), counters
// and histograms that move as a scripted phoenix.js client crashes and
// rejoins and as the journal writes, and the same figures as /stats: every
// /stats figure has its metric and every metric its /stats figure.
"use strict"
const { test, after } = require("node:test")
const assert = require("node:assert/strict")
const { spawnSync } = require("node:child_process")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { join, next, until } = require("./lib/phx")
const { nodePerFile } = require("./lib/per_file")
const { httpGet, stats } = require("./lib/node")

// With a journal, so that its figures are there too.
const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), "chanstate-metrics-"))
after(() => fs.rmSync(journalDir, { recursive: true, force: true }))
const file = nodePerFile([`--journal=${journalDir}`])
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
  // The backup restored was stored at the crash, a moment before.
  assert.equal(moved("chanstate_backup_age_at_restore_seconds_count"), 1)
  assert.equal(moved('chanstate_backup_age_at_restore_seconds_bucket{le="+Inf"}'), 1)
  assert.equal(moved('chanstate_backup_age_at_restore_seconds_bucket{le="60"}'), 1)
  const age = moved("chanstate_backup_age_at_restore_seconds_sum")
  assert.ok(age > 0 && age < 60, `backup age ${age} s`)
  // The commits (join, add), the backup and the restore went through the
  // journal: batches were written and timed.
  assert.ok(moved("chanstate_journal_batch_write_seconds_count") >= 1)
  assert.ok(moved("chanstate_journal_batch_write_seconds_sum") > 0)
  assert.equal(moved("chanstate_journal_batch_size_count"),
    moved("chanstate_journal_batch_write_seconds_count"))
  assert.ok(moved("chanstate_journal_batch_size_sum") >= moved("chanstate_journal_batch_size_count"))
  assert.equal(moved("chanstate_journal_write_errors_total"), 0)
  assert.equal(get(mid, "chanstate_journal_failing"), 0)

  await new Promise(resolve => ch.leave().receive("ok", resolve))
  // The registry counts the exit when the channel's down message reaches
  // it, which may come after the leave's reply reached the client.
  const normal = 'chanstate_channel_exits_total{backup="discarded",exit="normal"}'
  const after = await until(async () => {
    const m = parse((await scrape()).body)
    return get(m, normal) > get(before, normal) ? m : null
  }, 5000, "the normal exit counted")
  assert.equal(get(after, normal) - get(before, normal), 1)
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

/// Every figure of a /stats document by its dotted path: numbers, booleans
/// and histograms ({counts: [...]}); strings and lists are not figures.
function figures(doc, prefix = "", out = new Map()) {
  for (const [k, v] of Object.entries(doc)) {
    const p = prefix ? `${prefix}.${k}` : k
    if (typeof v === "number" || typeof v === "boolean") out.set(p, Number(v))
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      if (Array.isArray(v.counts)) out.set(p, v)
      else figures(v, p, out)
    }
  }
  return out
}

// /stats figure → its sample in /metrics (a histogram's: its name).
const closeCauses = ["client_close", "client_heartbeat_timeout", "idle_timeout",
  "connection_lost", "too_big", "binary_frame", "bad_frame", "backpressure", "shutdown"]
const figureMetric = {
  live_channels: "chanstate_live_channels",
  backups: "chanstate_backups",
  backup_bytes: "chanstate_backup_bytes",
  imported: "chanstate_backups_imported_total",
  down_wait_timeouts: "chanstate_down_wait_timeouts_total",
  superseded_joins: "chanstate_superseded_joins_total",
  rejected_commits: "chanstate_commits_rejected_total",
  "commits_refused.assigns_too_large": 'chanstate_commits_refused_total{reason="assigns_too_large"}',
  reattached: "chanstate_channels_reattached_total",
  registry_restarts: "chanstate_registry_restarts_total",
  "restores.from_backup": 'chanstate_joins_total{outcome="restored"}',
  "restores.from_takeover": 'chanstate_joins_total{outcome="taken_over"}',
  "restores.fresh": 'chanstate_joins_total{outcome="fresh"}',
  "restores.refused_poison": 'chanstate_joins_total{outcome="quarantined"}',
  "restores.fallback": "chanstate_joins_fallback_total",
  "exits.kept_after_crash": 'chanstate_channel_exits_total{backup="kept",exit="crash"}',
  "exits.kept_after_other": 'chanstate_channel_exits_total{backup="kept",exit="other_abnormal"}',
  "exits.discarded_normal": 'chanstate_channel_exits_total{backup="discarded",exit="normal"}',
  "drops.expired": 'chanstate_backups_dropped_total{cause="expired"}',
  "drops.evicted": 'chanstate_backups_dropped_total{cause="evicted"}',
  "drops.quarantined": 'chanstate_backups_dropped_total{cause="quarantined"}',
  "drops.evicted_bytes": "chanstate_backups_evicted_bytes_total",
  "quarantine.crashes_without_progress": "chanstate_crashes_without_progress_total",
  "quarantine.fallbacks": 'chanstate_guard_actions_total{action="fallback"}',
  "quarantine.quarantined": 'chanstate_guard_actions_total{action="quarantine"}',
  packed_backups: "chanstate_backups_packed",
  "packing.packed": "chanstate_backups_packed_total",
  "packing.restores_from_packed": "chanstate_restores_from_packed_total",
  "packing.kept_hot": "chanstate_backups_kept_hot_total",
  "packing.unpack_failures": "chanstate_unpack_failures_total",
  "limits.max_backups": "chanstate_backups_limit",
  "limits.max_backup_bytes": "chanstate_backup_bytes_limit",
  backup_age_at_restore: "chanstate_backup_age_at_restore_seconds",
  "journal.batches": "chanstate_journal_batch_write_seconds_count",
  "journal.write_errors": "chanstate_journal_write_errors_total",
  "journal.log_batches": "chanstate_journal_log_batches_total",
  "journal.failing": "chanstate_journal_failing",
  "journal.batch_write_seconds": "chanstate_journal_batch_write_seconds",
  "journal.batch_keys": "chanstate_journal_batch_size",
  "transport.connections_open": "chanstate_connections_open",
  "transport.connections_total": "chanstate_connections_total",
  "transport.upgrades_refused": 'chanstate_connections_refused_total{reason="bad_upgrade"}',
  "transport.connections_refused": 'chanstate_connections_refused_total{reason="connection_limit"}',
  "transport.accept_errors": 'chanstate_connections_refused_total{reason="accept_error"}',
  "transport.tls_handshakes_failed": 'chanstate_connections_refused_total{reason="tls_handshake"}',
  "transport.joins_rate_limited": 'chanstate_joins_refused_total{reason="rate_limit"}',
  "transport.joins_over_channel_limit": 'chanstate_joins_refused_total{reason="channel_limit"}',
  "transport.frames_in": 'chanstate_frames_total{direction="in"}',
  "transport.frames_out": 'chanstate_frames_total{direction="out"}',
  "transport.bytes_in": 'chanstate_transferred_bytes_total{direction="in"}',
  "transport.bytes_out": 'chanstate_transferred_bytes_total{direction="out"}',
  "transport.stale_frames_dropped": 'chanstate_frames_dropped_total{cause="stale_join_ref"}',
  "transport.outbound_frames_dropped": 'chanstate_frames_dropped_total{cause="connection_gone"}',
  "transport.error_replies": "chanstate_error_replies_total",
  "transport.restore_latency": "chanstate_restore_latency_seconds",
  // Only on a node with --registry (e2e_log_events checks them there).
  "registry_link.connected": "chanstate_registry_link_up",
  "registry_link.ups": 'chanstate_registry_link_changes_total{to="up"}',
  "registry_link.downs": 'chanstate_registry_link_changes_total{to="down"}',
  ...Object.fromEntries(closeCauses.map(c =>
    [`transport.closes.${c}`, `chanstate_connection_closes_total{cause="${c}"}`])),
}
// Figures that are not metrics of their own, and why.
const notMetrics = {
  "quarantine.count": "the sum of chanstate_guard_actions_total",
  "transport.backpressure_closes": 'chanstate_connection_closes_total{cause="backpressure"}',
  "limits.backup_ttl_ms": "a setting",
  "limits.down_wait_ms": "a setting",
  "limits.generations": "a setting",
  "limits.poison_crashes": "a setting",
  "limits.quarantine_keep": "a setting",
  "limits.pack_after_ms": "a setting",
}
const metricOf = p => figureMetric[p]
  ?? (p.startsWith("auth_failures.") ? `chanstate_auth_failures_total{reason="${p.slice(14)}"}` : undefined)

test("every /stats figure has its metric, every metric its figure, and they agree", async () => {
  // Figures on both sides: a crash and restore (backup age), journaled
  // commits, an auth-less node's zero auth failures.
  const ch = file.client("metrics-c").channel("room:every")
  let rejoined
  const rejoin = new Promise(r => { rejoined = r })
  await join(ch, rejoined)
  ch.push("add", { n: 1 })
  ch.push("oopsy", {})
  await rejoin
  // /stats before and after the scrape: if nothing moved in between (an
  // idle node; a heartbeat may land), the scrape must show the same.
  let s, m, body
  for (let attempt = 0; ; attempt++) {
    const s1 = await stats(file.node.port)
    body = (await scrape()).body
    const s2 = await stats(file.node.port)
    if (JSON.stringify(s1) === JSON.stringify(s2)) { s = s2; m = parse(body); break }
    assert.ok(attempt < 10, "the node never stood still for one scrape")
  }
  const figs = figures(s)
  assert.ok(figs.has("journal.write_errors") && figs.has("auth_failures.expired")
    && figs.has("backup_age_at_restore"), [...figs.keys()].join(","))
  const mapped = new Set(["chanstate_registry_up"]) // computed: registry_error absent
  for (const [p, v] of figs) {
    if (p in notMetrics) continue
    const key = metricOf(p)
    assert.ok(key, `/stats figure ${p} has no metric`)
    if (typeof v === "object") {
      // A histogram: cumulative buckets, count and sum.
      const bounds = v.bounds_s ?? v.bounds
      const sum = v.sum_s ?? v.sum
      // le as the serializer prints it (0.0001 may read 1e-04): by value.
      const buckets = new Map()
      for (const [k, x] of m) {
        const b = k.match(/^(\w+)_bucket\{le="([^"]+)"\}$/)
        if (b && b[1] === key && b[2] !== "+Inf") buckets.set(Number(b[2]), x)
      }
      assert.equal(buckets.size, bounds.length, `${key} buckets`)
      let cum = 0
      bounds.forEach((b, i) => {
        cum += v.counts[i]
        assert.equal(buckets.get(b), cum, `${key} le=${b}`)
      })
      cum += v.counts[bounds.length]
      assert.equal(get(m, `${key}_bucket{le="+Inf"}`), cum, key)
      assert.equal(get(m, `${key}_count`), cum, key)
      assert.ok(Math.abs(get(m, `${key}_sum`) - sum) <= 1e-9 * Math.max(1, sum), key)
      mapped.add(key)
    } else {
      assert.equal(get(m, key), v, `${key} vs /stats ${p}`)
      mapped.add(key.replace(/\{.*$/, ""))
    }
  }
  assert.ok(s.restores.from_backup >= 1)
  assert.equal(get(m, "chanstate_backup_age_at_restore_seconds_count"), s.restores.from_backup)
  // Vice versa: each family of the exposition comes from /stats.
  for (const line of body.split("\n").filter(l => l.startsWith("# TYPE "))) {
    const name = line.split(" ")[2]
    assert.ok(mapped.has(name), `metric ${name} has no /stats figure`)
  }
})
