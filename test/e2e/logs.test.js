// The operator log on stderr: --log-format=json lines for the events that
// matter (start with options, refused connection, channel crash, stop),
// never the assigns; --log-level filters; a storm is summed up.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { spawnSync } = require("node:child_process")
const { connect, join, next, sleep } = require("./lib/phx")
const { startNode, httpGet } = require("./lib/node")

const binary = process.env.CHANSTATE_NODE || process.argv[2]

/// Every stderr line must be one JSON object.
function jsonLines(stderr) {
  return stderr.split("\n").filter(Boolean).map(l => {
    try { return JSON.parse(l) } catch (e) { assert.fail(`not a JSON line: ${l}`) }
  })
}

const refuseUpgrade = port => httpGet(port, "/socket/websocket?vsn=2.0.0", {
  Connection: "Upgrade", Upgrade: "websocket",
  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
})

test("json lines: start with options, a refused upgrade, a crash, the stop", async () => {
  const node = await startNode(["--log-format=json", "--max-channels=7"])
  assert.equal((await refuseUpgrade(node.port)).status, 403)
  const socket = connect(node.url, "log-client")
  const ch = socket.channel("room:logs")
  let rejoined
  const rejoin = new Promise(r => { rejoined = r })
  await join(ch, rejoined)
  ch.push("add", { n: 987654321 })
  const errored = next(cb => ch.onError(cb), 5000, "phx_error")
  ch.push("oopsy", {})
  await errored
  await rejoin
  socket.disconnect()
  await sleep(100)
  const { code } = await node.stop()
  assert.equal(code, 0)

  const lines = jsonLines(node.stderr())
  for (const l of lines) {
    assert.match(l.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.ok(["info", "warn", "error"].includes(l.level), l.level)
  }
  const events = lines.map(l => l.event)
  const start = lines.find(l => l.event === "node_start")
  assert.ok(start, events.join(","))
  assert.equal(start.url, node.url)
  assert.equal(start.max_channels, 7)
  assert.equal(start.log_format, "json")
  const refused = lines.find(l => l.event === "connection_refused")
  assert.deepEqual([refused.status, refused.reason], [403, "missing client_id"])
  const crash = lines.find(l => l.event === "channel_crash")
  assert.equal(crash.topic, "room:logs")
  assert.match(crash.exit_reason, /oopsy/)
  assert.ok(events.includes("node_stop"), events.join(","))
  // A plain restore is not logged, nothing is logged per frame, and the
  // assigns never are.
  assert.ok(!events.includes("restore_guard"))
  assert.equal(lines.length, 4, events.join(","))
  assert.doesNotMatch(node.stderr(), /987654321/)
})

test("a storm of refusals is written 5 times, then summed up", async () => {
  const node = await startNode([])
  for (let i = 0; i < 20; i++) await refuseUpgrade(node.port)
  await node.stop()
  const lines = node.stderr().split("\n").filter(l => /WebSocket upgrade refused|more connection_refused/.test(l))
  const refused = lines.filter(l => /WebSocket upgrade refused/.test(l))
  const summaries = lines.filter(l => /more connection_refused/.test(l))
  // 20 refusals take far less than 4 s: some second held some back.
  assert.ok(refused.length >= 5 && refused.length < 20, lines.join("\n"))
  // Every refusal is either written or counted in a summary.
  const summed = summaries.reduce((n, l) => n + Number(l.match(/ (\d+) more/)[1]), 0)
  assert.equal(refused.length + summed, 20, lines.join("\n"))
  assert.match(node.stderr(), /\d{4}-\d\d-\d\dT[\d:.]+Z info chanstate-node started /)
})

test("--log-level=error hides info and warn lines; bad values are refused", async () => {
  const node = await startNode(["--log-level=error"])
  await refuseUpgrade(node.port)
  await node.stop()
  assert.equal(node.stderr(), "")
  for (const bad of ["--log-level=loud", "--log-format=xml"]) {
    const r = spawnSync(binary, ["--port=0", bad], { encoding: "utf8", timeout: 10000 })
    assert.equal(r.status, 2, bad)
    assert.match(r.stderr, /log-(level|format) must be/)
  }
})
