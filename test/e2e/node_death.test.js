// State survives the death of the whole node: a journal, or a registry on another node.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const fs = require("node:fs")
const path = require("node:path")
const { startNode, stats } = require("./lib/node")
const { push } = require("./lib/phx")
const { nodesPerFile } = require("./lib/per_file")

const { node, client, tempDir } = nodesPerFile()
const journalDir = () => tempDir("chanstate-journal-")

/// A channel whose every successful (re)join is reported through `joins`.
function watchedChannel(socket, topic) {
  const ch = socket.channel(topic)
  const joins = []
  let wake = () => {}
  ch.join().receive("ok", r => { joins.push(r); wake() })
  /// Resolves with the n-th join response (1-based), within `ms`.
  ch.nthJoin = (n, ms = 10000) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no join #${n} within ${ms} ms`)), ms)
    const check = () => {
      if (joins.length >= n) { clearTimeout(t); resolve(joins[n - 1]) }
    }
    wake = check
    check()
  })
  return ch
}

/// The node dies with `die`, comes back on the same port and journal; the
/// phoenix.js client reconnects and rejoins on its own.
async function survivesRestart(die, extraArgs = []) {
  const dir = journalDir()
  const args = [`--journal=${dir}`, ...extraArgs]
  const first = await node(args)
  const socket = client(first.url, "jay")
  const ch = watchedChannel(socket, "room:journal")
  assert.deepEqual(await ch.nthJoin(1), { restored: false, ns: [] })
  ch.push("add", { n: 7 })
  ch.push("add", { n: 8 })
  assert.deepEqual((await push(ch, "get")).response, { ns: [7, 8] })
  const exit = await die(first, ch)
  const second = await node([...args, `--port=${first.port}`])
  assert.deepEqual(await ch.nthJoin(2), { restored: true, ns: [7, 8] })
  assert.deepEqual((await push(ch, "get")).response, { ns: [7, 8] })
  return { exit, second }
}

test("(a) SIGKILL of a node with a journal: the live channel's state comes back", async () => {
  const { exit } = await survivesRestart(n => n.stop("SIGKILL"))
  assert.equal(exit.signal, "SIGKILL")
})

test("(b) a client's abort kills the process; the journal brings the state back", async () => {
  const { exit } = await survivesRestart(async (n, ch) => {
    ch.push("abort", {})
    return n.exited
  }, ["--allow-fatal-demo"])
  assert.equal(exit.signal, "SIGABRT")
})

test("abort is refused unless the node allows it", async () => {
  const n = await node([])
  const ch = watchedChannel(client(n.url, "nofatal"), "room:nofatal")
  await ch.nthJoin(1)
  const r = await push(ch, "abort")
  assert.equal(r.status, "error")
  assert.match(r.response.reason, /--allow-fatal-demo/)
})

test("(c) a clean SIGTERM clears the journal: the state is gone after a restart", async () => {
  const dir = journalDir()
  const first = await node([`--journal=${dir}`])
  const socket = client(first.url, "clean")
  const ch = watchedChannel(socket, "room:clean")
  await ch.nthJoin(1)
  ch.push("add", { n: 1 })
  assert.deepEqual((await push(ch, "get")).response, { ns: [1] })
  const exit = await first.stop("SIGTERM")
  assert.equal(exit.code, 0)
  await node([`--journal=${dir}`, `--port=${first.port}`])
  assert.deepEqual(await ch.nthJoin(2), { restored: false, ns: [] })
})

test("a journal written by a newer format is refused with a clear message", async () => {
  const dir = journalDir()
  const first = await node([`--journal=${dir}`])
  await first.stop("SIGKILL")
  // Corrupt the file: the node must refuse, not reset it.
  fs.writeFileSync(path.join(dir, "data.mdb"), Buffer.alloc(16384, 0x78))
  await assert.rejects(startNode([`--journal=${dir}`]), /journal/)
})

async function cluster(bArgs = []) {
  const registry = await node(["--registry-listen=0"])
  const m = registry.stdout().match(/registry on (\S+):(\d+)/)
  assert.ok(m, `registry node printed no registry line: ${registry.stdout()}`)
  const at = `--registry=${m[1]}:${m[2]}`
  const b = await node([at, ...bArgs])
  const c = await node([at])
  return { registry, b, c }
}

test("(d) node B is SIGKILLed; the same client joins through node C and gets its state", async () => {
  const { registry, b, c } = await cluster()
  const onB = watchedChannel(client(b.url, "dora"), "room:cluster")
  assert.deepEqual(await onB.nthJoin(1), { restored: false, ns: [] })
  onB.push("add", { n: 5 })
  onB.push("add", { n: 6 })
  assert.deepEqual((await push(onB, "get")).response, { ns: [5, 6] })
  await b.stop("SIGKILL")
  const onC = watchedChannel(client(c.url, "dora"), "room:cluster")
  assert.deepEqual(await onC.nthJoin(1), { restored: true, ns: [5, 6] })
  const st = await stats(registry.port)
  assert.ok(st.exits.kept_after_other >= 1, JSON.stringify(st.exits))
})

test("(e) a frozen node (SIGSTOP) is detected and its channels' states are kept", async () => {
  const { registry, b, c } = await cluster()
  const onB = watchedChannel(client(b.url, "frida"), "room:frozen")
  await onB.nthJoin(1)
  onB.push("add", { n: 9 })
  assert.deepEqual((await push(onB, "get")).response, { ns: [9] })
  process.kill(b.pid, "SIGSTOP")
  try {
    // The registry's heartbeat notices within about 2 s.
    const deadline = Date.now() + 5000
    let kept = 0
    while (Date.now() < deadline) {
      kept = (await stats(registry.port)).exits.kept_after_other
      if (kept >= 1) break
      await new Promise(r => setTimeout(r, 100))
    }
    assert.ok(kept >= 1, "the registry never saw the frozen node's channel go down")
    const onC = watchedChannel(client(c.url, "frida"), "room:frozen")
    assert.deepEqual(await onC.nthJoin(1), { restored: true, ns: [9] })
  } finally {
    process.kill(b.pid, "SIGCONT")
  }
})

test("(f) while its registry node is down, node B serves its live channels, holds joins for a bounded time, and reconnects", async () => {
  // A join waits for the registry at most restore-timeout - down-wait (1 s).
  const { registry, b } = await cluster(["--restore-timeout=2s", "--down-wait=1s"])
  const rport = registry.stdout().match(/registry on \S+:(\d+)/)[1]
  const live = watchedChannel(client(b.url, "gus"), "room:outage")
  await live.nthJoin(1)
  live.push("add", { n: 1 })
  assert.deepEqual((await push(live, "get")).response, { ns: [1] })
  await registry.stop("SIGKILL")
  // Live channels keep handling events; their commits wait for the
  // registry, and so does a reply after them (acknowledged means durable):
  // it arrives once the channel has reattached.
  live.push("add", { n: 2 })
  const held = new Promise(resolve => {
    live.push("get", {}, 20000)
      .receive("ok", r => resolve(r))
      .receive("timeout", () => resolve({ timeout: true }))
  })
  // A join needs a restore: it waits for the registry, then is refused
  // with a reason that says why.
  const hal = client(b.url, "hal").channel("room:outage")
  const refused = await new Promise(resolve => {
    hal.join().receive("error", resolve).receive("ok", () => resolve({ joined: true }))
  })
  hal.leave() // phoenix.js would retry the join forever
  assert.equal(refused.reason, "restore failed")
  assert.match(refused.detail, /unreachable; waited 1000 ms/)
  // A new registry node on the same port: B reconnects, its live channel
  // reattaches with everything it committed meanwhile.
  const again = await node([`--registry-listen=${rport}`])
  const deadline = Date.now() + 5000
  let st
  do {
    await new Promise(r => setTimeout(r, 100))
    st = await stats(again.port)
  } while (st.reattached < 1 && Date.now() < deadline)
  assert.equal(st.reattached, 1)
  assert.equal(st.live_channels, 1)
  assert.deepEqual(await held, { ns: [1, 2] })
})
