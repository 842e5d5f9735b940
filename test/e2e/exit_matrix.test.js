// Every row of the exit matrix (README, "The exit matrix") as a client sees it over the wire.
"use strict"
const { test, before, after } = require("node:test")
const assert = require("node:assert/strict")
const { startNode, stats } = require("./lib/node")
const { connect, join, push, next, until, sleep } = require("./lib/phx")
const { RawClient } = require("./lib/raw")

// A short idle timeout for the missing-heartbeat row; every other client
// heartbeats well within it.
const IDLE_MS = 1500
let node
const sockets = []
before(async () => { node = await startNode([`--idle-timeout=${IDLE_MS}ms`]) })
after(async () => {
  for (const s of sockets) s.disconnect()
  if (node) await node.stop()
})

function client(id, opts = {}) {
  const s = connect(node.url, id, { heartbeatIntervalMs: 300, ...opts })
  sockets.push(s)
  return s
}

/// Joins `topic` as `id`, adds `ns`, checks them; returns the channel.
async function seeded(socket, topic, ns) {
  const ch = socket.channel(topic)
  const r = await join(ch)
  assert.equal(r.restored, false)
  for (const n of ns) ch.push("add", { n })
  assert.deepEqual((await push(ch, "get")).response, { ns })
  return ch
}

/// What a fresh socket of `id` finds on `topic`: the join reply.
async function rejoinFresh(id, topic) {
  const s = client(id)
  const r = await join(s.channel(topic))
  s.disconnect()
  return r
}

// The registry decides on the channel's down; wait for its verdict so a
// rejoin cannot race it (a rejoin while the old channel lives takes it over).
async function verdict(kind, before) {
  return until(async () => (await stats(node.port)).exits[kind] > before, 5000, `registry verdict ${kind}`)
}
const exits = async () => (await stats(node.port)).exits

test("phx_leave ends the channel normally: backup dropped", async () => {
  const s = client("leave")
  const ch = await seeded(s, "room:m", [1, 2])
  const before = (await exits()).discarded_normal
  await new Promise(r => ch.leave().receive("ok", r))
  await verdict("discarded_normal", before)
  assert.deepEqual(await rejoinFresh("leave", "room:m"), { restored: false, ns: [] })
})

test("leave and join again at once on the same socket: the new join starts fresh", async () => {
  const s = client("releave")
  const ch = await seeded(s, "room:m", [5])
  ch.leave()
  const again = await join(s.channel("room:m"))
  assert.deepEqual(again, { restored: false, ns: [] })
})

test("a clean WebSocket close ends the channels normally: backup dropped", async () => {
  const s = client("clean")
  await seeded(s, "room:m", [3])
  const before = (await exits()).discarded_normal
  s.disconnect()
  await verdict("discarded_normal", before)
  assert.deepEqual(await rejoinFresh("clean", "room:m"), { restored: false, ns: [] })
})

test("bye stops the channel normally: phx_close, no rejoin, backup dropped", async () => {
  const s = client("bye")
  const ch = await seeded(s, "room:m", [4])
  const closed = next(cb => ch.onClose(cb), 5000, "phx_close")
  const before = (await exits()).discarded_normal
  assert.equal((await push(ch, "bye")).status, "ok")
  assert.deepEqual(await closed, {})
  await verdict("discarded_normal", before)
  await sleep(200) // a rejoin would come after rejoinAfterMs (50 ms)
  assert.equal(ch.state, "closed")
  assert.deepEqual(await rejoinFresh("bye", "room:m"), { restored: false, ns: [] })
})

test("oopsy crashes the channel: phx_error, automatic rejoin, backup kept", async () => {
  const s = client("oopsy")
  const ch = await seeded(s, "room:m", [5, 6])
  let rejoined
  const rejoin = new Promise(r => { rejoined = r })
  ch.joinPush.receive("ok", r => { if (r.restored) rejoined(r) })
  const errored = next(cb => ch.onError(cb), 5000, "phx_error")
  ch.push("oopsy", {})
  assert.deepEqual(await errored, { reason: "channel_crash" })
  assert.deepEqual(await rejoin, { restored: true, ns: [5, 6] })
})

test("a transport dropped without a close frame keeps the backup; the client reconnects and restores", async () => {
  const s = client("dropped")
  const ch = await seeded(s, "room:m", [7, 8])
  let rejoined
  const rejoin = new Promise(r => { rejoined = r })
  ch.joinPush.receive("ok", r => { if (r.restored) rejoined(r) })
  const before = (await exits()).kept_after_other
  s.conn._socket.destroy() // TCP gone, no close frame
  assert.deepEqual(await rejoin, { restored: true, ns: [7, 8] })
  assert.ok((await exits()).kept_after_other > before)
  assert.deepEqual((await push(ch, "get")).response, { ns: [7, 8] })
})

test("a terminated socket (TCP reset) keeps the backup too", async () => {
  const raw = await RawClient.open(node.port, "client_id=reset&vsn=2.0.0")
  const { jr } = await raw.join("room:m")
  raw.send([jr, null, "room:m", "add", { n: 9 }])
  await raw.call(jr, "room:m", "get")
  const before = (await exits()).kept_after_other
  raw.ws.terminate()
  await verdict("kept_after_other", before)
  assert.deepEqual(await rejoinFresh("reset", "room:m"), { restored: true, ns: [9] })
})

test("heartbeats keep an otherwise silent phoenix.js client connected past the idle timeout", async () => {
  const s = client("beating") // heartbeats every 300 ms, sends nothing else
  const ch = await seeded(s, "room:m", [12])
  const conn = s.conn
  let errors = 0
  ch.onError(() => { ++errors })
  await sleep(IDLE_MS + 1000)
  assert.equal(errors, 0)
  assert.equal(s.conn, conn, "the same connection, never reconnected")
  assert.deepEqual((await push(ch, "get")).response, { ns: [12] })
})

test("missing heartbeats: the server closes the idle connection, the backup is kept", async () => {
  // No heartbeat within the node's idle timeout.
  const s = client("silent", { heartbeatIntervalMs: 60000 })
  const ch = await seeded(s, "room:m", [10])
  let rejoined
  const rejoin = new Promise(r => { rejoined = r })
  ch.joinPush.receive("ok", r => { if (r.restored) rejoined(r) })
  const idleBefore = (await stats(node.port)).transport.closes.idle_timeout
  const started = Date.now()
  assert.deepEqual(await rejoin, { restored: true, ns: [10] })
  assert.ok(Date.now() - started >= IDLE_MS - 500, "closed only after the idle timeout")
  assert.ok((await stats(node.port)).transport.closes.idle_timeout > idleBefore)
})

test("phoenix.js's own heartbeat-timeout close keeps the backup", async () => {
  // phoenix.js closes with 1000 "heartbeat timeout" when acks stop coming.
  const raw = await RawClient.open(node.port, "client_id=hbt&vsn=2.0.0")
  const { jr } = await raw.join("room:m")
  raw.send([jr, null, "room:m", "add", { n: 11 }])
  await raw.call(jr, "room:m", "get")
  const before = (await exits()).kept_after_other
  raw.close(1000, "heartbeat timeout")
  await verdict("kept_after_other", before)
  assert.deepEqual(await rejoinFresh("hbt", "room:m"), { restored: true, ns: [11] })
})
