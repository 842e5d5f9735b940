// The seed scenario with the real phoenix.js: state survives a channel crash.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { join, push, next } = require("./lib/phx")
const { nodePerFile } = require("./lib/per_file")

const file = nodePerFile()
const client = file.client

test("add 2149, add 1234, get, oopsy, automatic rejoin, get", async () => {
  const socket = client("seed")
  const ch = socket.channel("room:lobby")
  let rejoined
  const rejoin = new Promise(r => { rejoined = r })
  const first = await join(ch, rejoined)
  assert.deepEqual(first, { restored: false, ns: [] })

  ch.push("add", { n: 2149 }) // add has no reply
  ch.push("add", { n: 1234 })
  assert.deepEqual(await push(ch, "get"), { status: "ok", response: { ns: [2149, 1234] } })

  // The handler throws: Phoenix sends phx_error, the client rejoins by itself.
  const errored = next(cb => ch.onError(cb), 5000, "phx_error")
  ch.push("oopsy", {})
  assert.deepEqual(await errored, { reason: "channel_crash" })
  assert.deepEqual(await rejoin, { restored: true, ns: [2149, 1234] })
  assert.deepEqual(await push(ch, "get"), { status: "ok", response: { ns: [2149, 1234] } })
})

test("pushes the client buffers while the channel is errored are applied after the restore", async () => {
  const socket = client("buffered")
  const ch = socket.channel("room:buffer")
  let rejoined
  const rejoin = new Promise(r => { rejoined = r })
  await join(ch, rejoined)
  ch.push("add", { n: 1 })
  assert.deepEqual((await push(ch, "get")).response, { ns: [1] })

  // Pushed from inside onError: the channel is errored, so phoenix.js holds
  // them and sends them with the new join ref right after the rejoin's ok.
  let buffered
  ch.onError(() => {
    if (buffered) return
    ch.push("add", { n: 2 })
    buffered = push(ch, "get")
  })
  ch.push("oopsy", {})
  assert.deepEqual(await rejoin, { restored: true, ns: [1] })
  assert.deepEqual(await buffered, { status: "ok", response: { ns: [1, 2] } })
})

test("clients are isolated: same topic, different client_id, different state", async () => {
  const a = client("iso-a").channel("room:shared")
  const b = client("iso-b").channel("room:shared")
  await join(a)
  await join(b)
  a.push("add", { n: 10 })
  b.push("add", { n: 20 })
  b.push("add", { n: 21 })
  assert.deepEqual((await push(a, "get")).response, { ns: [10] })
  assert.deepEqual((await push(b, "get")).response, { ns: [20, 21] })

  // A crash of a's channel restores a's list, and leaves b alone.
  let rejoined
  const rejoin = new Promise(r => { rejoined = r })
  const c = client("iso-a").channel("room:other")
  await join(c, rejoined)
  assert.deepEqual((await push(c, "get")).response, { ns: [] }, "another topic of the same client starts empty")
  const errored = next(cb => a.onError(cb))
  a.push("oopsy", {})
  await errored
  assert.deepEqual((await push(a, "get")).response, { ns: [10] })
  assert.deepEqual((await push(b, "get")).response, { ns: [20, 21] })
})

test("SIGTERM shuts the node down cleanly with exit code 0", async () => {
  for (const s of file.sockets.splice(0)) s.disconnect()
  const r = await file.node.stop("SIGTERM")
  assert.deepEqual(r, { code: 0, signal: null })
  assert.match(file.node.stdout(), /^chanstate-node listening on ws:\/\/127\.0\.0\.1:\d+\/socket \(ready\)\n$/)
})
