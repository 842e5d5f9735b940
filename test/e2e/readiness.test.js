// Ready means ready: /healthz and /readyz, the startup and readiness lines,
// and a join that arrives before the registry link is up waits for it.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { httpGet, freePort } = require("./lib/node")
const { RawClient } = require("./lib/raw")
const { until } = require("./lib/phx")
const { nodesPerFile } = require("./lib/per_file")

const { node } = nodesPerFile()

async function readyz(port) {
  const r = await httpGet(port, "/readyz")
  return { status: r.status, body: JSON.parse(r.body) }
}

test("a node with its own registry is ready at once and says so", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chanstate-ready-"))
  try {
    const n = await node([`--journal=${dir}`])
    assert.match(n.stdout(), /^chanstate-node listening on ws:\/\/\S+ \(ready\)\n/)
    const h = await httpGet(n.port, "/healthz")
    assert.equal(h.status, 200)
    assert.deepEqual(JSON.parse(h.body), { status: "serving" })
    assert.deepEqual(await readyz(n.port), {
      status: 200,
      body: { ready: true, registry: "local", registry_connected: true, journal: "open" },
    })
    await n.stop()
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test("a join before the registry link is up waits for it, then succeeds", async () => {
  const rport = await freePort()
  const at = `127.0.0.1:${rport}`
  // The channel node first: its link has nothing to connect to.
  const edge = await node([`--registry=${at}`, "--restore-timeout=60s", "--down-wait=5s"])
  assert.match(edge.stdout(),
    new RegExp(`^chanstate-node listening on ws://\\S+ \\(not ready: registry ${at} is not connected\\)\\n`))
  assert.equal((await httpGet(edge.port, "/healthz")).status, 200)
  const before = await readyz(edge.port)
  assert.equal(before.status, 503)
  assert.equal(before.body.ready, false)
  assert.equal(before.body.reason, `registry ${at} is not connected`)
  // The join arrives while the link is down: it is held, not refused.
  const raw = await RawClient.open(edge.port, "client_id=early&vsn=2.0.0")
  try {
    raw.send(["1", "1", "room:early", "phx_join", {}])
    let answered = null
    const reply = raw.reply("1", 60000).then(f => { answered = f; return f })
    assert.equal((await readyz(edge.port)).status, 503)
    assert.equal(answered, null, `answered before the registry came: ${JSON.stringify(answered)}`)
    // Now the registry node, on the port the link keeps trying.
    const registry = await node([`--registry-listen=${rport}`])
    const r = await reply
    assert.deepEqual(r[4], { status: "ok", response: { restored: false, ns: [] } })
    await until(() => /^chanstate-node ready: registry \S+ connected$/m.test(edge.stdout()),
      5000, "the ready line")
    assert.deepEqual(await readyz(edge.port), {
      status: 200,
      body: { ready: true, registry: at, registry_connected: true, journal: "off" },
    })
    // The registry node dies: not ready, said once, until it is back.
    await registry.stop("SIGKILL")
    await until(() => /^chanstate-node not ready: registry \S+ is not connected$/m.test(edge.stdout()),
      5000, "the not-ready line")
    assert.equal((await readyz(edge.port)).status, 503)
    assert.equal((await httpGet(edge.port, "/healthz")).status, 200)
  } finally {
    raw.ws.close()
  }
})

test("with the registry node absent past the bound, a join fails with the clear error", async () => {
  const at = `127.0.0.1:${await freePort()}`
  // restore-timeout 2 s, of which the registry's own answer (down-wait)
  // needs 1 s: the join waits 1 s for the link.
  const edge = await node([`--registry=${at}`, "--restore-timeout=2s", "--down-wait=1s"])
  const raw = await RawClient.open(edge.port, "client_id=late&vsn=2.0.0")
  try {
    const t0 = Date.now()
    raw.send(["1", "1", "room:late", "phx_join", {}])
    const r = await raw.reply("1", 10000)
    const waited = Date.now() - t0
    assert.equal(r[4].status, "error")
    assert.equal(r[4].response.reason, "restore failed")
    assert.match(r[4].response.detail,
      new RegExp(`registry at ${at} is unreachable; waited 1000 ms for it`))
    assert.ok(waited >= 900, `refused after ${waited} ms, before the bound`)
  } finally {
    raw.ws.close()
  }
})
