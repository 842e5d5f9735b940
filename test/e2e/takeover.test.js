// Takeover: a newer join of the same client and topic gets the live state.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { join, push, next, sleep } = require("./lib/phx")
const { nodePerFile } = require("./lib/per_file")
const { RawClient } = require("./lib/raw")

const file = nodePerFile()
const client = file.client

test("a second socket of the same client_id takes the live state; the old channel gets phx_close", async () => {
  const old = client("taker").channel("room:take")
  await join(old)
  old.push("add", { n: 1 })
  old.push("add", { n: 2 })
  assert.deepEqual((await push(old, "get")).response, { ns: [1, 2] })

  const closed = next(cb => old.onClose(cb), 5000, "phx_close on the old socket")
  const fresh = client("taker").channel("room:take")
  assert.deepEqual(await join(fresh), { restored: true, ns: [1, 2] })
  assert.deepEqual(await closed, {})
  await sleep(200) // a closed channel never rejoins
  assert.equal(old.state, "closed")

  fresh.push("add", { n: 3 })
  assert.deepEqual((await push(fresh, "get")).response, { ns: [1, 2, 3] })
})

test("duplicate join on one socket: the new join's reply, then phx_close(old JR)", async () => {
  const c = await RawClient.open(file.node.port, "client_id=dup&vsn=2.0.0")
  c.send(["11", "1", "room:dup", "phx_join", {}])
  assert.equal((await c.reply("1"))[4].status, "ok")
  c.send(["11", null, "room:dup", "add", { n: 42 }])
  await c.call("11", "room:dup", "get")

  c.send(["12", "2", "room:dup", "phx_join", {}])
  const a = await c.next(f => f[2] === "room:dup" && (f[1] === "2" || f[3] === "phx_close"))
  const b = await c.next(f => f[2] === "room:dup" && (f[1] === "2" || f[3] === "phx_close"))
  assert.deepEqual(a, ["12", "2", "room:dup", "phx_reply", { status: "ok", response: { restored: true, ns: [42] } }])
  assert.deepEqual(b, ["11", "11", "room:dup", "phx_close", {}])

  // The old JR is stale now; the new one serves the state it took over.
  c.send(["11", "3", "room:dup", "get", {}])
  assert.deepEqual((await c.call("12", "room:dup", "get"))[4], { status: "ok", response: { ns: [42] } })
  assert.equal(c.frames.filter(f => f[1] === "3").length, 0)
  c.close()
})
