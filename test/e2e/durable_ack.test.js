// Acknowledged means durable: under steady traffic the node is SIGKILLed
// three times and restarted on its journal; every value a client saw in a
// reply comes back, in order.
"use strict"
const { test, after } = require("node:test")
const assert = require("node:assert/strict")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { startNode } = require("./lib/node")
const { connect, join, push, sleep } = require("./lib/phx")

const CLIENTS = 20
const KILLS = 3

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chanstate-durable-"))
const nodes = []
let sockets = []
after(async () => {
  for (const s of sockets) s.disconnect()
  for (const n of nodes) await n.stop("SIGKILL")
  fs.rmSync(dir, { recursive: true, force: true })
})

function isPrefix(short, long) {
  return short.length <= long.length && short.every((x, i) => x === long[i])
}

/// One client's model: what it added (in order) and the longest state a
/// reply showed it (acknowledged).
function model(i) {
  return { i, topic: `room:durable-${i}`, id: `durable-${i}`, sent: [], acked: [], next: 1, replies: 0 }
}

/// A reply (join or get) showed `ns`: it must extend what was acknowledged
/// and contain only what was sent, in order; it is acknowledged from now on.
function sawReply(c, ns, what) {
  assert.ok(isPrefix(c.acked, ns),
    `${c.id} ${what}: ${JSON.stringify(ns)} lost acknowledged ${JSON.stringify(c.acked)}`)
  assert.ok(isPrefix(ns, c.sent),
    `${c.id} ${what}: ${JSON.stringify(ns)} is not a prefix of what was sent ${JSON.stringify(c.sent)}`)
  c.acked = ns
  c.replies++
}

/// Adds two values and reads back, until `life.dead`; a reply that loses
/// the race with the kill is simply not counted as acknowledged.
async function traffic(c, ch, life) {
  while (!life.dead) {
    for (let k = 0; k < 2; k++) {
      const n = c.next++
      c.sent.push(n)
      ch.push("add", { n })
    }
    const r = await Promise.race([push(ch, "get"), life.died])
    if (life.dead || !r) return
    if (r.status !== "ok") throw new Error(`${c.id}: get answered ${JSON.stringify(r)}`)
    sawReply(c, r.response.ns, "get reply")
  }
}

/// A node life: start on the journal (a fresh free port), every client
/// joins and checks its restored state.
async function startLife(clients, first) {
  const node = await startNode([`--journal=${dir}`])
  nodes.push(node)
  sockets = []
  const chans = await Promise.all(clients.map(async c => {
    const s = connect(node.url, c.id)
    sockets.push(s)
    const ch = s.channel(c.topic)
    const r = await join(ch)
    if (!first && c.acked.length > 0)
      assert.equal(r.restored, true, `${c.id}: not restored after the kill`)
    // What the journal held may include adds never acknowledged; those
    // are now the client's state (the join reply acknowledges them).
    sawReply(c, r.ns, "join reply after restart")
    c.sent = r.ns.slice()
    return ch
  }))
  return { node, chans }
}

test("20 clients under traffic, node SIGKILLed 3 times: every acknowledged value is restored, in order", { timeout: 110000 }, async () => {
  const clients = Array.from({ length: CLIENTS }, (_, i) => model(i))
  let life = await startLife(clients, true)
  for (let kill = 1; kill <= KILLS; kill++) {
    const state = { dead: false }
    let die
    state.died = new Promise(r => { die = r })
    const before = clients.map(c => c.replies)
    const loops = clients.map((c, i) => traffic(c, life.chans[i], state))
    // Mid-traffic: every client has had a reply in this life, then a bit more.
    const deadline = Date.now() + 20000
    while (clients.some((c, i) => c.replies < before[i] + 2) && Date.now() < deadline)
      await sleep(20)
    assert.ok(clients.every((c, i) => c.replies >= before[i] + 2),
      `life ${kill}: not every client got replies within 20 s`)
    await sleep(50 + Math.floor(Math.random() * 150))
    const exit = await life.node.stop("SIGKILL")
    assert.equal(exit.signal, "SIGKILL")
    state.dead = true
    die(null)
    await Promise.all(loops)
    for (const s of sockets) s.disconnect()
    life = await startLife(clients, false)
  }
  // Everyone is back with at least what was acknowledged; the state still
  // serves.
  for (let i = 0; i < CLIENTS; i++) {
    const r = await push(life.chans[i], "get")
    assert.equal(r.status, "ok")
    sawReply(clients[i], r.response.ns, "final get")
    assert.ok(clients[i].acked.length > 0, `${clients[i].id} never had a value acknowledged`)
  }
  const exit = await life.node.stop("SIGTERM")
  assert.equal(exit.code, 0)
})
