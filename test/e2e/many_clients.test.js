// Many phoenix.js clients crash at once; every one rejoins and finds its own state.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { stats } = require("./lib/node")
const { join, push } = require("./lib/phx")
const { nodePerFile } = require("./lib/per_file")

const N = 200
const file = nodePerFile()

test(`${N} clients crash at once and all recover their own state`, async () => {
  const chans = []
  const rejoins = []
  for (let i = 0; i < N; ++i) {
    const s = file.client(`many-${i}`, { heartbeatIntervalMs: 5000, timeout: 10000 })
    const ch = s.channel("room:many")
    chans.push(ch)
    rejoins.push(new Promise(resolve => {
      ch.joinPush.receive("ok", r => { if (r.restored) resolve(r) })
    }))
  }
  await Promise.all(chans.map(ch => join(ch)))
  chans.forEach((ch, i) => { ch.push("add", { n: i }); ch.push("add", { n: i * 1000 }) })
  const before = await Promise.all(chans.map(ch => push(ch, "get")))
  before.forEach((r, i) => assert.deepEqual(r.response, { ns: [i, i * 1000] }))

  for (const ch of chans) ch.push("oopsy", {})
  const restored = await Promise.all(rejoins)
  restored.forEach((r, i) => assert.deepEqual(r, { restored: true, ns: [i, i * 1000] }))
  const after = await Promise.all(chans.map(ch => push(ch, "get")))
  after.forEach((r, i) => assert.deepEqual(r, { status: "ok", response: { ns: [i, i * 1000] } }))

  const st = await stats(file.node.port)
  assert.ok(st.exits.kept_after_crash >= N, JSON.stringify(st.exits))
  assert.equal(st.transport.connections_open, N)
})
