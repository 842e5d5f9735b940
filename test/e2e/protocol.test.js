// Phoenix's server rules (as its channel server and socket apply them), checked frame by frame with raw ws.
"use strict"
const { test, before, after } = require("node:test")
const assert = require("node:assert/strict")
const { startNode } = require("./lib/node")
const { RawClient } = require("./lib/raw")

let node
const clients = []
before(async () => { node = await startNode() })
after(async () => {
  for (const c of clients) c.close()
  if (node) await node.stop()
})

async function open(clientId) {
  const c = await RawClient.open(node.port, `client_id=${clientId}&vsn=2.0.0`)
  clients.push(c)
  return c
}

const ok = response => ({ status: "ok", response })
const unmatched = { status: "error", response: { reason: "unmatched topic" } }

test("a heartbeat is answered on topic phoenix with JR null and the same ref", async () => {
  const c = await open("hb")
  c.send([null, "7", "phoenix", "heartbeat", {}])
  assert.deepEqual(await c.reply("7"), [null, "7", "phoenix", "phx_reply", ok({})])
})

test("the join reply echoes the join's ref and join_ref, even when they differ", async () => {
  const c = await open("refs")
  c.send(["11", "1", "room:refs", "phx_join", {}])
  assert.deepEqual(await c.reply("1"),
    ["11", "1", "room:refs", "phx_reply", ok({ restored: false, ns: [] })])
  // Replies to pushes carry the channel's JR, also for a push sent with JR null.
  c.send([null, "2", "room:refs", "get", {}])
  assert.deepEqual(await c.reply("2"), ["11", "2", "room:refs", "phx_reply", ok({ ns: [] })])
})

test("a frame with a stale join_ref is dropped silently", async () => {
  const c = await open("stale")
  const { jr } = await c.join("room:stale")
  c.send(["999", "50", "room:stale", "add", { n: 1 }])
  c.send(["999", "51", "room:stale", "get", {}])
  // The channel answers in order: had the stale frames reached it, their
  // effects would show here.
  assert.deepEqual((await c.call(jr, "room:stale", "get"))[4], ok({ ns: [] }))
  assert.equal(c.frames.filter(f => f[1] === "51").length, 0)
})

test("join of an unmatched topic: error reply with JR null", async () => {
  const c = await open("unmatched")
  c.send(["12", "4", "nope:x", "phx_join", {}])
  assert.deepEqual(await c.reply("4"), [null, "4", "nope:x", "phx_reply", unmatched])
})

test("a push to a topic not joined gets unmatched topic, JR null", async () => {
  const c = await open("notjoined")
  c.send(["5", "6", "room:never", "get", {}])
  assert.deepEqual(await c.reply("6"), [null, "6", "room:never", "phx_reply", unmatched])
  c.send([null, "7", "phoenix", "other", {}])
  assert.deepEqual(await c.reply("7"), [null, "7", "phoenix", "phx_reply", unmatched])
})

test("phx_leave of an unknown topic replies ok, echoing JR and ref", async () => {
  const c = await open("leave-unknown")
  c.send(["3", "8", "room:gone", "phx_leave", {}])
  assert.deepEqual(await c.reply("8"), ["3", "8", "room:gone", "phx_reply", ok({})])
})

test("phx_leave: a stale JR is ignored; JR null leaves: reply ok, then phx_close(JR)", async () => {
  const c = await open("leave")
  const { jr } = await c.join("room:leave")
  c.send(["stale", "20", "room:leave", "phx_leave", {}])
  await c.call(jr, "room:leave", "get") // the channel is still there
  assert.equal(c.frames.filter(f => f[1] === "20").length, 0)
  c.send([null, "21", "room:leave", "phx_leave", {}])
  assert.deepEqual(await c.reply("21"), [jr, "21", "room:leave", "phx_reply", ok({})])
  assert.deepEqual(await c.next(f => f[3] === "phx_close"), [jr, jr, "room:leave", "phx_close", {}])
  c.send([jr, "22", "room:leave", "get", {}])
  assert.deepEqual(await c.reply("22"), [null, "22", "room:leave", "phx_reply", unmatched])
})

test("a channel push goes out as [JR, null, topic, event, payload]", async () => {
  const c = await open("push")
  const { jr } = await c.join("room:push")
  c.send([jr, "30", "room:push", "ping", { x: 1 }])
  assert.deepEqual(await c.next(f => f[3] === "pong"), [jr, null, "room:push", "pong", { x: 1 }])
  assert.deepEqual(await c.reply("30"), [jr, "30", "room:push", "phx_reply", ok({})])
})

test("a broadcast reaches every subscriber of the topic as [null, null, ...]", async () => {
  const a = await open("bc-a")
  const b = await open("bc-b")
  const other = await open("bc-c")
  const ja = (await a.join("room:bc")).jr
  await b.join("room:bc")
  const jo = (await other.join("room:bc-other")).jr
  a.send([ja, "40", "room:bc", "shout", { msg: "hi" }])
  const expected = [null, null, "room:bc", "shout", { msg: "hi" }]
  assert.deepEqual(await a.next(f => f[3] === "shout"), expected)
  assert.deepEqual(await b.next(f => f[3] === "shout"), expected)
  await other.call(jo, "room:bc-other", "get")
  assert.equal(other.frames.filter(f => f[3] === "shout").length, 0)
})

test("the 101st channel on one socket is refused: too many channels joined", async () => {
  const c = await open("many-topics")
  for (let i = 1; i <= 100; ++i) c.send([`j${i}`, `j${i}`, `room:t${i}`, "phx_join", {}])
  for (let i = 1; i <= 100; ++i) assert.equal((await c.reply(`j${i}`))[4].status, "ok")
  c.send(["j101", "j101", "room:t101", "phx_join", {}])
  assert.deepEqual(await c.reply("j101"),
    ["j101", "j101", "room:t101", "phx_reply", { status: "error", response: { reason: "too many channels joined" } }])
  // A channel that leaves frees its slot.
  c.send([null, "l1", "room:t1", "phx_leave", {}])
  await c.next(f => f[3] === "phx_close" && f[2] === "room:t1")
  c.send(["j102", "j102", "room:t101", "phx_join", {}])
  assert.equal((await c.reply("j102"))[4].status, "ok")
})

test("--max-channels lowers the limit", async () => {
  const small = await startNode(["--max-channels=1"])
  try {
    const c = await RawClient.open(small.port, "client_id=cap&vsn=2.0.0")
    assert.equal((await c.join("room:a")).reply[4].status, "ok")
    const { reply } = await c.join("room:b")
    assert.deepEqual(reply[4], { status: "error", response: { reason: "too many channels joined" } })
    c.close()
  } finally {
    await small.stop()
  }
})
