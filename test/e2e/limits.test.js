// The node's limits on connections and joins: each answers with a clear
// reason, is counted in /stats, and leaves every other client alone.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { spawnSync } = require("node:child_process")
const { startNode, stats } = require("./lib/node")
const { RawClient } = require("./lib/raw")

const binary = process.argv[2]
const sleep = ms => new Promise(r => setTimeout(r, ms))

async function until(pred, what, ms = 5000) {
  const end = Date.now() + ms
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

async function withNode(args, body) {
  const node = await startNode(args)
  const clients = []
  const open = async id => {
    const c = await RawClient.open(node.port, `client_id=${id}&vsn=2.0.0`)
    clients.push(c)
    return c
  }
  try {
    await body(node, open)
  } finally {
    for (const c of clients) c.close()
    await node.stop()
  }
}

test("a connection over --max-connections is closed with 1013; others keep working", async () => {
  await withNode(["--max-connections=2"], async (node, open) => {
    const a = await open("a")
    const b = await open("b")
    const { jr } = await a.join("room:a")
    const over = await open("c")
    assert.deepEqual(await over.closed, { code: 1013, reason: "too many connections" })
    assert.equal((await stats(node.port)).transport.connections_refused, 1)
    assert.equal((await a.call(jr, "room:a", "ping"))[4].status, "ok")
    // A slot freed is a slot to take.
    b.close()
    await b.closed
    await until(async () => (await stats(node.port)).transport.connections_open === 1,
                "the closed connection to be released")
    const d = await open("d")
    assert.equal((await d.join("room:d")).reply[4].status, "ok")
  })
})

test("a join storm gets 'too many joins' with retry_after_ms; the retry passes", async () => {
  // One token per 2 s: the refusals below happen well within one refill,
  // even on a loaded machine under ASan.
  await withNode(["--join-rate=0.5", "--join-burst=3"], async (node, open) => {
    const storm = await open("storm")
    const joined = []
    for (const t of ["room:1", "room:2", "room:3"]) {
      const { jr, reply } = await storm.join(t)
      assert.equal(reply[4].status, "ok")
      joined.push(jr)
    }
    const { reply } = await storm.join("room:4")
    assert.equal(reply[4].status, "error")
    assert.equal(reply[4].response.reason, "too many joins")
    const wait = reply[4].response.retry_after_ms
    assert.ok(wait > 0 && wait <= 2000, `retry_after_ms ${wait} is at most one token at 0.5/s`)
    // The bucket belongs to the client id, not the connection.
    const again = await open("storm")
    assert.equal((await again.join("room:5")).reply[4].response.reason, "too many joins")
    // A refused duplicate join leaves the channel it would have replaced.
    assert.equal((await storm.join("room:1")).reply[4].response.reason, "too many joins")
    assert.equal((await storm.call(joined[0], "room:1", "ping"))[4].status, "ok")
    // Another client is not slowed down by the storm.
    const calm = await open("calm")
    assert.equal((await calm.join("room:1")).reply[4].status, "ok")
    assert.equal((await stats(node.port)).transport.joins_rate_limited, 3)
    await sleep(wait + 50)
    assert.equal((await storm.join("room:4")).reply[4].status, "ok")
  })
})

test("--join-rate=0 turns the join limit off", async () => {
  await withNode(["--join-rate=0", "--join-burst=1"], async (node, open) => {
    const c = await open("unlimited")
    for (let i = 0; i < 20; ++i)
      assert.equal((await c.join(`room:${i}`)).reply[4].status, "ok")
    assert.equal((await stats(node.port)).transport.joins_rate_limited, 0)
  })
})

test("limits that could never admit anything are refused at start, exit code 2", () => {
  for (const [opt, why] of [["--max-connections=0", /max-connections/],
                            ["--max-frame-bytes=0", /max-frame-bytes/],
                            ["--max-channels=0", /max-channels/],
                            ["--join-burst=0", /join-burst/],
                            ["--join-rate=-1", /join-rate/],
                            ["--down-wait=10s", /restore-timeout must be longer than down-wait/]]) {
    const r = spawnSync(binary, ["--host=127.0.0.1", "--port=0", opt],
                        { encoding: "utf8", timeout: 20000, killSignal: "SIGKILL" })
    assert.equal(r.status, 2, `${opt}: ${r.stderr}`)
    assert.match(r.stderr, why)
  }
})
