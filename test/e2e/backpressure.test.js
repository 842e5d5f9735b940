// Back-pressure: a client that does not read is closed, counted, and harms no one.
"use strict"
const { test, before, after } = require("node:test")
const assert = require("node:assert/strict")
const { startNode, stats } = require("./lib/node")
const { connect, join, push, until } = require("./lib/phx")
const { RawClient } = require("./lib/raw")

let node
let other
before(async () => { node = await startNode(["--max-outbound-bytes=262144"]) })
after(async () => {
  if (other) other.disconnect()
  if (node) await node.stop()
})

test("a client that stops reading is closed once its queue passes the limit", async () => {
  other = connect(node.url, "reader")
  const ch = other.channel("room:reader")
  await join(ch)
  ch.push("add", { n: 1 })

  const slow = await RawClient.open(node.port, "client_id=slow&vsn=2.0.0")
  const { jr } = await slow.join("room:slow")
  slow.ws.pause() // stop reading: the kernel buffers fill, then our queue
  const pad = "x".repeat(64 * 1024)
  let sent = 0
  const t = await until(async () => {
    // Each shout comes back as a 64 KiB broadcast nobody reads.
    for (let i = 0; i < 20; ++i, ++sent) slow.send([jr, null, "room:slow", "shout", { pad }])
    const tr = (await stats(node.port)).transport
    return tr.backpressure_closes >= 1 && tr
  }, 20000, "a back-pressure close")
  assert.equal(t.closes.backpressure, t.backpressure_closes)
  assert.ok(sent * pad.length > 262144)

  // The reader on another connection never noticed.
  assert.deepEqual(await push(ch, "get"), { status: "ok", response: { ns: [1] } })
  slow.ws.resume()
  const closed = await slow.closed
  assert.equal(closed.code, 1006, "closed without a close frame: it could not be delivered")

  // Its channel ended as a lost transport: the state is kept.
  const again = await RawClient.open(node.port, "client_id=slow&vsn=2.0.0")
  assert.equal((await again.join("room:slow")).reply[4].response.restored, true)
  again.close()
})
