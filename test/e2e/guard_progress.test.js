// The poison guard judges progress, never acknowledged data: phoenix.js
// clients that crash their channel again and again, in quick succession.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { spawnSync } = require("node:child_process")
const { stats } = require("./lib/node")
const { join, push, next } = require("./lib/phx")
const { nodePerFile } = require("./lib/per_file")

const file = nodePerFile()
const client = file.client

/// Joins `ch`; `first` is the join's reply, `rejoin()` the next automatic
/// rejoin's (phoenix.js rejoins by itself after phx_error).
function joinAndWatch(ch) {
  const ready = []
  const waiting = []
  const first = join(ch, r => {
    const w = waiting.shift()
    if (w) w(r)
    else ready.push(r)
  })
  const rejoin = (ms = 5000) => new Promise((resolve, reject) => {
    if (ready.length) return resolve(ready.shift())
    const t = setTimeout(() => reject(new Error(`no rejoin within ${ms} ms`)), ms)
    waiting.push(r => { clearTimeout(t); resolve(r) })
  })
  return { first, rejoin }
}

/// Pushes oopsy and waits for the phx_error it causes.
async function crash(ch) {
  const errored = next(cb => ch.onError(cb), 5000, "phx_error")
  ch.push("oopsy", {})
  assert.deepEqual(await errored, { reason: "channel_crash" })
}

/// One crash cycle after progress: `get` shows `ns`, the crash, and the
/// automatic rejoin restores `ns` exactly.
async function getCrashRejoin(ch, w, ns, i) {
  assert.deepEqual(await push(ch, "get"), { status: "ok", response: { ns } })
  await crash(ch)
  assert.deepEqual(await w.rejoin(), { restored: true, ns }, `rejoin after crash ${i}`)
}

const guard = async () => (await stats(file.node.port)).quarantine

test("10 crash cycles in quick succession, an add and a get between each, lose nothing", async () => {
  const ch = client("cycles").channel("room:cycles")
  const w = joinAndWatch(ch)
  assert.deepEqual(await w.first, { restored: false, ns: [] })
  const want = []
  for (let i = 1; i <= 10; i++) {
    ch.push("add", { n: i })
    want.push(i)
    await getCrashRejoin(ch, w, want, i)
  }
  assert.deepEqual(await push(ch, "get"), { status: "ok", response: { ns: want } })
  assert.equal((await guard()).crashes_without_progress, 0)
})

test("10 cycles of get then oopsy keep the state too", async () => {
  const ch = client("gets").channel("room:gets")
  const w = joinAndWatch(ch)
  await w.first
  ch.push("add", { n: 2149 })
  ch.push("add", { n: 1234 })
  for (let i = 1; i <= 10; i++)
    await getCrashRejoin(ch, w, [2149, 1234], i)
  assert.equal((await guard()).fallbacks, 0)
})

test("crashing at once after every rejoin falls back a generation after 3, and the join says so", async () => {
  const ch = client("poison").channel("room:poison")
  const w = joinAndWatch(ch)
  await w.first
  ch.push("add", { n: 1 })
  ch.push("add", { n: 2 })
  assert.deepEqual((await push(ch, "get")).response, { ns: [1, 2] })
  await crash(ch) // after progress: kept
  const before = await guard()
  for (let i = 1; i <= 3; i++) {
    assert.deepEqual(await w.rejoin(), { restored: true, ns: [1, 2] }, `rejoin ${i}`)
    await crash(ch) // the first event after the restore: no progress
  }
  assert.deepEqual(await w.rejoin(), { restored: true, ns: [1], fallback_generation: 1 })
  const after = await guard()
  assert.equal(after.crashes_without_progress - before.crashes_without_progress, 3)
  assert.equal(after.fallbacks - before.fallbacks, 1)
  assert.equal(after.recent.at(-1).key, "room:poison|poison")
  assert.equal(after.recent.at(-1).last_event, "oopsy")
  // The older generation serves: progress, so later crashes keep it.
  assert.deepEqual(await push(ch, "get"), { status: "ok", response: { ns: [1] } })
})

test("--poison-crashes is in /stats; the options of the old guards are gone", async () => {
  assert.equal((await stats(file.node.port)).limits.poison_crashes, 3)
  for (const opt of ["--crash-loop-limit=5", "--crash-window=60s", "--probation-events=3", "--probation-time=2s"]) {
    const r = spawnSync(process.argv[2], [opt, "--port=0"], { encoding: "utf8", timeout: 20000, killSignal: "SIGKILL" })
    assert.equal(r.status, 2, `${opt} is refused`)
  }
})
