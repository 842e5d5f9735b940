// Bad input gets Phoenix's answer or a close with a reason, and harms no one else.
"use strict"
const { test, before, after } = require("node:test")
const assert = require("node:assert/strict")
const { startNode, httpGet, stats } = require("./lib/node")
const { connect, join, push } = require("./lib/phx")
const { RawClient } = require("./lib/raw")

let node
let bystander // a phoenix.js client with state, checked after every case
let bystanderSocket
const clients = []
before(async () => {
  node = await startNode()
  bystanderSocket = connect(node.url, "bystander")
  bystander = bystanderSocket.channel("room:safe")
  await join(bystander)
  bystander.push("add", { n: 1 })
  bystander.push("add", { n: 2 })
})
after(async () => {
  for (const c of clients) c.close()
  if (bystanderSocket) bystanderSocket.disconnect()
  if (node) await node.stop()
})

async function open(id = "bad", query) {
  const c = await RawClient.open(node.port, query ?? `client_id=${id}&vsn=2.0.0`)
  clients.push(c)
  return c
}

async function bystanderIntact() {
  assert.deepEqual(await push(bystander, "get"), { status: "ok", response: { ns: [1, 2] } })
}

/// Sends `text` on a fresh connection and expects a close with `code`.
async function closesWith(text, code, reason) {
  const c = await open()
  c.sendText(text)
  const closed = await c.closed
  assert.equal(closed.code, code)
  if (reason) assert.match(closed.reason, reason)
  await bystanderIntact()
}

test("invalid JSON: close 1007 with the reason", async () => {
  await closesWith("{not json", 1007, /invalid JSON/)
  await closesWith("", 1007, /invalid JSON/)
})

test("wrong array shape or element types: close 1007 naming the problem", async () => {
  await closesWith(JSON.stringify({ topic: "room:x" }), 1007, /JSON array/)
  await closesWith(JSON.stringify(["1", "1", "room:x", "phx_join"]), 1007, /5 elements/)
  await closesWith(JSON.stringify([1, "1", "room:x", "phx_join", {}]), 1007, /join_ref/)
  await closesWith(JSON.stringify(["1", 1, "room:x", "phx_join", {}]), 1007, /ref must/)
  await closesWith(JSON.stringify(["1", "1", null, "phx_join", {}]), 1007, /topic/)
  await closesWith(JSON.stringify(["1", "1", "room:x", 5, {}]), 1007, /event/)
  await closesWith('["1","1","room:x","add",{"n":1e400}]', 1007, /out of range/)
})

test("a payload that is not an object: error reply, the connection stays", async () => {
  const c = await open("payload")
  const { jr } = await c.join("room:payload")
  c.send([jr, "5", "room:payload", "add", [1, 2]])
  assert.deepEqual(await c.reply("5"),
    [jr, "5", "room:payload", "phx_reply", { status: "error", response: { reason: "payload must be a JSON object" } }])
  c.send(["9", "6", "room:other", "phx_join", "params"])
  assert.equal((await c.reply("6"))[4].status, "error")
  await c.sync()
  await bystanderIntact()
})

test("an unknown event: the channel's error reply", async () => {
  const c = await open("unknown")
  const { jr } = await c.join("room:unknown")
  assert.deepEqual((await c.call(jr, "room:unknown", "dance", {}))[4],
    { status: "error", response: { reason: "unknown event", event: "dance" } })
  // And the demo's own bad arguments.
  assert.equal((await c.call(jr, "room:unknown", "add", { n: "x" }))[4].status, "error")
  await bystanderIntact()
})

test("a frame over the size limit: close 1009; the channel's backup is kept", async () => {
  const c = await open("big")
  const { jr } = await c.join("room:big")
  c.send([jr, null, "room:big", "add", { n: 77 }])
  await c.call(jr, "room:big", "get")
  c.send([jr, "9", "room:big", "add", { pad: "x".repeat(1100 * 1024) }])
  assert.equal((await c.closed).code, 1009)
  const again = await open("big")
  assert.deepEqual((await again.join("room:big")).reply[4].response, { restored: true, ns: [77] })
  await bystanderIntact()
})

test("a frame just under the limit is fine", async () => {
  const c = await open("almost")
  const { jr } = await c.join("room:almost")
  const r = await c.call(jr, "room:almost", "get", { pad: "x".repeat(1000 * 1024) })
  assert.equal(r[4].status, "ok")
})

test("a binary frame: close 1003", async () => {
  const c = await open()
  c.sendBinary(Buffer.from([0, 2, 2, 8, 3]))
  const closed = await c.closed
  assert.equal(closed.code, 1003)
  assert.match(closed.reason, /binary/)
  await bystanderIntact()
})

test("a refused upgrade answers HTTP 403: other vsn, no vsn, no client_id", async () => {
  for (const query of ["client_id=a&vsn=123.1.1", "client_id=a&vsn=1.0.0", "client_id=a",
                       "vsn=2.0.0", "client_id=&vsn=2.0.0"]) {
    await assert.rejects(RawClient.open(node.port, query), e => e.status === 403, query)
  }
  await bystanderIntact()
})

test("HTTP that is not an upgrade: 400 for the endpoint, 404 elsewhere", async () => {
  assert.equal((await httpGet(node.port, "/socket/websocket?client_id=a&vsn=2.0.0")).status, 400)
  assert.equal((await httpGet(node.port, "/nowhere")).status, 404)
})

test("too many channels on one socket is refused, the others keep working", async () => {
  const c = await open("crowd")
  for (let i = 0; i < 100; ++i) c.send([`${i}`, `${i}`, `room:c${i}`, "phx_join", {}])
  for (let i = 0; i < 100; ++i) await c.reply(`${i}`)
  const r = await c.call("x", "room:c100", "phx_join")
  assert.deepEqual(r[4], { status: "error", response: { reason: "too many channels joined" } })
  assert.equal((await c.call("5", "room:c5", "get"))[4].status, "ok")
  await bystanderIntact()
})

test("the closes are counted in /stats", async () => {
  const t = (await stats(node.port)).transport
  assert.ok(t.closes.bad_frame >= 9, JSON.stringify(t))
  assert.ok(t.closes.too_big >= 1)
  assert.ok(t.closes.binary_frame >= 1)
  assert.ok(t.upgrades_refused >= 5)
  assert.equal(t.joins_over_channel_limit, 1)
})

test("--allowed-origins: a listed or missing Origin is accepted, another gets 403", async () => {
  const strict = await startNode(["--allowed-origins=http://good.example, https://also.example"])
  try {
    const q = "client_id=o&vsn=2.0.0"
    const ok1 = await RawClient.open(strict.port, q, { origin: "http://good.example" })
    const ok2 = await RawClient.open(strict.port, q, { origin: "https://also.example" })
    const ok3 = await RawClient.open(strict.port, q)
    await assert.rejects(RawClient.open(strict.port, q, { origin: "http://evil.example" }), e => e.status === 403)
    for (const c of [ok1, ok2, ok3]) c.close()
  } finally {
    await strict.stop()
  }
})
