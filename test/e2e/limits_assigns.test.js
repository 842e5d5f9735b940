// --max-assigns-bytes: a commit over it is refused with an error reply and
// counted; the state stays at the last commit, also across a crash.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { startNode, stats } = require("./lib/node")
const { connect, join, push, next } = require("./lib/phx")
const { nodePerFile } = require("./lib/per_file")

const LIMIT = 3000 // a few chunks of the demo's `ns` list
const ADDS = 300   // far more than fit
const file = nodePerFile([`--max-assigns-bytes=${LIMIT}`])
const client = file.client

test("adds past the limit get assigns_too_large; the state, a crash's restore and /stats agree", async () => {
  const bystander = client("bystander").channel("room:small")
  await join(bystander)
  const socket = client("grower")
  const ch = socket.channel("room:big")
  const rejoined = []
  await join(ch, r => rejoined.push(r))
  // `add` does not reply; a refused one gets an error reply for its ref.
  const refusals = []
  for (let n = 0; n < ADDS; n++)
    ch.push("add", { n }).receive("error", r => refusals.push(r))
  bystander.push("add", { n: 7 })
  // Events are handled in order: once `get` answers, every refusal is out.
  const got = await push(ch, "get")
  assert.equal(got.status, "ok")
  const kept = got.response.ns.length
  assert.ok(kept > 0 && kept < ADDS, `kept ${kept} of ${ADDS}`)
  assert.deepEqual(got.response.ns, [...Array(kept).keys()])
  assert.equal(refusals.length, ADDS - kept)
  for (const r of refusals) {
    assert.equal(r.reason, "assigns_too_large")
    assert.equal(r.limit, LIMIT)
    assert.ok(r.size > LIMIT, `size ${r.size}`)
  }
  const s = await stats(file.node.port)
  assert.equal(s.commits_refused.assigns_too_large, ADDS - kept)
  // A crash restores the last accepted state, not a refused one.
  const errored = next(cb => ch.onError(cb), 5000, "phx_error")
  ch.push("oopsy", {})
  await errored
  const deadline = Date.now() + 5000
  while (rejoined.length === 0 && Date.now() < deadline)
    await new Promise(r => setTimeout(r, 20))
  assert.equal(rejoined.length, 1, "phoenix.js rejoined")
  assert.equal(rejoined[0].restored, true)
  assert.deepEqual(rejoined[0].ns, [...Array(kept).keys()])
  // The channel still serves, and other clients never noticed.
  assert.deepEqual(await push(ch, "get"), { status: "ok", response: { ns: [...Array(kept).keys()] } })
  assert.deepEqual(await push(bystander, "get"), { status: "ok", response: { ns: [7] } })
})

test("a node using another node's registry counts its own refusals", async () => {
  const registry = await startNode(["--registry-listen=0"])
  let edge
  try {
    const m = registry.stdout().match(/registry on (\S+):(\d+)/)
    assert.ok(m, registry.stdout())
    edge = await startNode([`--registry=${m[1]}:${m[2]}`, `--max-assigns-bytes=${LIMIT}`])
    const s = connect(edge.url, "edge-grower")
    try {
      const ch = s.channel("room:edge")
      await join(ch)
      let refused = 0
      for (let n = 0; n < ADDS; n++)
        ch.push("add", { n }).receive("error", () => ++refused)
      assert.equal((await push(ch, "get")).status, "ok") // every refusal is out
      assert.ok(refused > 0)
      assert.equal((await stats(edge.port)).commits_refused.assigns_too_large, refused)
      assert.equal((await stats(registry.port)).commits_refused.assigns_too_large, 0)
    } finally {
      s.disconnect()
    }
  } finally {
    if (edge) await edge.stop()
    await registry.stop()
  }
})
