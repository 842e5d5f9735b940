// Operator log lines for what happens outside a channel: the registry link
// going down and up (registry node stopped by pid, then restarted on the
// same port), and journal writes that fail (an LMDB map of 1 MiB filled
// until MDB_MAP_FULL), with the figures /stats and /metrics show for them.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { httpGet, stats, freePort } = require("./lib/node")
const { RawClient } = require("./lib/raw")
const { until } = require("./lib/phx")
const { nodesPerFile } = require("./lib/per_file")

const { node } = nodesPerFile()

/// The log lines of `n` so far: every one must be JSON (the registry
/// link's "cannot attach ... retrying" goes through the node's log too).
function lines(n) {
  return n.stderr().split("\n").filter(Boolean)
    .map(l => {
      try { return JSON.parse(l) } catch (e) { assert.fail(`not a JSON line: ${l}`) }
    })
}

const linkEvents = n => lines(n).filter(l => l.event.startsWith("registry_link_"))

test("the registry link's changes are logged: up, down when the registry node dies, up again", async () => {
  const rport = await freePort()
  const at = `127.0.0.1:${rport}`
  let registry = await node([`--registry-listen=${rport}`])
  const edge = await node([`--registry=${at}`, "--log-format=json"])
  await until(() => linkEvents(edge).length === 1, 10000, "link up")
  assert.deepEqual(linkEvents(edge).map(l => [l.event, l.level, l.registry]),
    [["registry_link_up", "info", at]])

  // The registry's whole node goes, by its pid.
  process.kill(registry.pid, "SIGKILL")
  await registry.exited
  await until(() => linkEvents(edge).length === 2, 10000, "link down")
  const down = linkEvents(edge)[1]
  assert.deepEqual([down.event, down.level, down.registry], ["registry_link_down", "warn", at])
  assert.match(down.msg, /registry link down/)
  // /stats and /metrics say so too, though the registry itself cannot answer.
  const sd = await stats(edge.port)
  assert.deepEqual(sd.registry_link, { registry: at, connected: false, ups: 1, downs: 1 })
  assert.ok(sd.registry_error, JSON.stringify(sd))
  const md = samples((await httpGet(edge.port, "/metrics")).body)
  assert.equal(md.get("chanstate_registry_link_up"), 0)
  assert.equal(md.get("chanstate_registry_up"), 0)

  // Its reconnect attempts fail: said once for the outage, as JSON.
  await until(() => lines(edge).some(l => l.event === "registry_connect_failed"), 10000, "connect failure line")
  const failed = lines(edge).filter(l => l.event === "registry_connect_failed")
  assert.equal(failed.length, 1)
  assert.deepEqual([failed[0].level, failed[0].registry], ["warn", at])
  assert.match(failed[0].msg, /cannot attach to the registry at .*; retrying/)

  // A new registry node on the same port: the link reconnects by itself.
  registry = await node([`--registry-listen=${rport}`])
  await until(() => linkEvents(edge).length === 3, 15000, "link up again")
  assert.deepEqual(linkEvents(edge).map(l => l.event),
    ["registry_link_up", "registry_link_down", "registry_link_up"])
  assert.equal(linkEvents(edge)[2].registry, at)
  assert.deepEqual((await stats(edge.port)).registry_link,
    { registry: at, connected: true, ups: 2, downs: 1 })
  const mu = samples((await httpGet(edge.port, "/metrics")).body)
  assert.equal(mu.get("chanstate_registry_link_up"), 1)
  assert.equal(mu.get('chanstate_registry_link_changes_total{to="up"}'), 2)
  assert.equal(mu.get('chanstate_registry_link_changes_total{to="down"}'), 1)
  assert.equal((await edge.stop()).code, 0)
  await registry.stop()
})

/// The exposition as a map: 'name{a="x"}' → number.
function samples(text) {
  const m = new Map()
  for (const line of text.split("\n")) {
    const s = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/)
    if (s) m.set(s[1], Number(s[2]))
  }
  return m
}

test("a full journal (MDB_MAP_FULL) is logged with LMDB's text, rate-limited, and counted", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chanstate-jfull-"))
  try {
    // 1 MiB is the smallest map the option takes; async acks so that the
    // client's frames are not held while writes fail.
    const n = await node([`--journal=${dir}`, "--journal-map-mb=1", "--ack=async",
      "--log-format=json"])
    const raw = await RawClient.open(n.port, "client_id=jfull&vsn=2.0.0")
    const { jr } = await raw.join("room:full")
    // Each add rewrites the growing list: ~20 bytes more per add, until
    // the list (and LMDB's copy-on-write pages for it) no longer fit.
    const big = "1234567890123456789"
    let sent = 0
    await until(async () => {
      for (let i = 0; i < 2000; i++, sent++)
        raw.sendText(`["${jr}",null,"room:full","add",{"n":${big}}]`)
      await raw.sync()
      // Near the map's edge a retry can still fit once LMDB reuses freed
      // pages: grow the list well past what 1 MiB can hold twice over
      // (copy-on-write) so the journal keeps failing.
      return sent >= 40000 && (await stats(n.port)).journal.failing
    }, 60000, "a failing journal")
    // And keep it growing while the checks run.
    const pressure = setInterval(() => {
      for (let i = 0; i < 200; i++)
        raw.sendText(`["${jr}",null,"room:full","add",{"n":${big}}]`)
    }, 50)
    try {
      const s = await stats(n.port)
      assert.equal(s.journal.failing, true)
      assert.match(s.journal.last_error, /MDB_MAP_FULL|mapsize/i)

      // The same figures in /metrics.
      const m = samples((await httpGet(n.port, "/metrics")).body)
      assert.ok(m.get("chanstate_journal_write_errors_total") >= 1)
      assert.equal(m.get("chanstate_journal_failing"), 1)

      // Retried every 50 ms (20 a second): at most 5 lines per second of the
      // limit, each with LMDB's text, the rest in summaries once their second
      // is over.
      await new Promise(r => setTimeout(r, 1500))
      const errs = lines(n).filter(l => l.event === "journal_write_error")
      assert.ok(errs.length >= 1)
      for (const e of errs) {
        assert.equal(e.level, "error")
        assert.match(e.error, /MDB_MAP_FULL|mapsize/i)
      }
      const summaries = lines(n).filter(l => l.event === "log_summary" && l.of === "journal_write_error")
      assert.ok(summaries.length >= 1, "a summary without another event to carry it")
      // Line i and line i+10 are two of the limit's seconds apart at least.
      const t = errs.map(e => Date.parse(e.ts))
      for (let i = 0; i + 10 < t.length; i++)
        assert.ok(t[i + 10] - t[i] >= 990, `11 lines within ${t[i + 10] - t[i]} ms`)
      const summed = summaries.reduce((k, l) => k + l.count, 0)
      assert.ok(summed > 0 && errs.length + summed <= (await stats(n.port)).journal.write_errors)
    } finally {
      clearInterval(pressure)
    }
    raw.close()
    await n.stop()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
