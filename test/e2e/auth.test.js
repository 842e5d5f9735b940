// Signed identity tokens: the token's sub, not a connect param, decides whose
// state a connection gets; every refusal is a 403 naming its reason and a
// counter; secrets rotate on SIGHUP.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { spawnSync } = require("node:child_process")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { WebSocket } = require("ws")
const { startNode, stats } = require("./lib/node")
const { join, push, next, until } = require("./lib/phx")
const { nodePerFile } = require("./lib/per_file")
const { mintToken, forgeToken } = require("./lib/mint")

const KEY_A = "e2e-secret-A-0123456789abcdef0123456789"
const KEY_B = "e2e-secret-B-0123456789abcdef0123456789"
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chanstate-auth-"))
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
const secrets = path.join(dir, "secrets")
fs.writeFileSync(secrets, `# signing key first\n${KEY_A}\n`)

const file = nodePerFile([`--token-secret-file=${secrets}`])
const withToken = (token, opts = {}) => file.client(undefined, { params: { token }, ...opts })

/// Opens a raw connection with `query`; resolves {status, body} of a refusal,
/// or {status: 101} when the upgrade went through (and closes it).
function tryConnect(port, query) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?${query}`)
  return new Promise((resolve, reject) => {
    ws.once("open", () => { ws.close(); resolve({ status: 101 }) })
    ws.once("unexpected-response", (req, res) => {
      let body = ""
      res.on("data", d => { body += d })
      res.on("end", () => { req.destroy(); resolve({ status: res.statusCode, body }) })
    })
    ws.once("error", reject)
  })
}

test("a token for alice never restores or takes over bob's state", async () => {
  const bob = withToken(mintToken(KEY_A, "bob")).channel("room:vault")
  assert.deepEqual(await join(bob), { restored: false, ns: [] })
  bob.push("add", { n: 1 })
  bob.push("add", { n: 2 })
  assert.deepEqual((await push(bob, "get")).response, { ns: [1, 2] })

  // Claiming bob's id next to alice's token, or without a token, is refused.
  const alice = mintToken(KEY_A, "alice")
  const claimed = await tryConnect(file.node.port, `client_id=bob&token=${alice}&vsn=2.0.0`)
  assert.equal(claimed.status, 403)
  assert.equal(JSON.parse(claimed.body).reason, "client_id_mismatch")
  assert.equal((await tryConnect(file.node.port, "client_id=bob&vsn=2.0.0")).status, 403)

  // Alice on the same topic gets her own (empty) state and takes nothing over.
  let bobClosed = false
  bob.onClose(() => { bobClosed = true })
  const mine = withToken(alice).channel("room:vault")
  assert.deepEqual(await join(mine), { restored: false, ns: [] })
  mine.push("add", { n: 9 })
  assert.deepEqual((await push(mine, "get")).response, { ns: [9] })
  assert.deepEqual((await push(bob, "get")).response, { ns: [1, 2] })
  assert.equal(bobClosed, false)

  // Bob's crash keeps his state for bob, not for alice.
  const crashed = next(cb => bob.onError(cb), 5000, "bob's crash")
  bob.push("oopsy", {})
  await crashed
  await until(() => bob.state === "joined", 5000, "bob rejoined")
  assert.deepEqual((await push(bob, "get")).response, { ns: [1, 2] })
  const again = withToken(alice).channel("room:vault")
  // A second alice socket takes over alice's live state, still not bob's.
  assert.deepEqual(await join(again), { restored: true, ns: [9] })
})

test("each refusal reason gets 403, a JSON body naming it, and its counter", async () => {
  const now = Math.floor(Date.now() / 1000)
  const cases = {
    no_token: "vsn=2.0.0&client_id=carol",
    bad_signature: `vsn=2.0.0&token=${mintToken(KEY_B, "carol")}`,
    bad_alg: `vsn=2.0.0&token=${forgeToken({ alg: "none" }, { sub: "carol", exp: now + 60 })}`,
    expired: `vsn=2.0.0&token=${mintToken(KEY_A, "carol", -31 - 5)}`,
    not_yet_valid: `vsn=2.0.0&token=${mintToken(KEY_A, "carol", 3600, { nbf: now + 600 })}`,
    malformed: "vsn=2.0.0&token=not.a-token",
    client_id_mismatch: `vsn=2.0.0&client_id=dave&token=${mintToken(KEY_A, "carol")}`,
  }
  const before = (await stats(file.node.port)).auth_failures
  assert.deepEqual(Object.keys(before).sort(), Object.keys(cases).sort())
  for (const [reason, query] of Object.entries(cases)) {
    const r = await tryConnect(file.node.port, query)
    assert.equal(r.status, 403, reason)
    assert.deepEqual(JSON.parse(r.body), { error: "unauthorized", reason })
    // The token is never echoed.
    const token = new URLSearchParams(query).get("token")
    if (token) assert.ok(!r.body.includes(token.split(".")[0]), `${reason}: body quotes the token`)
  }
  // HS256 with a signature by a key we do not hold is a bad signature, a
  // signed "none" still a bad alg.
  const signedNone = forgeToken({ alg: "none" }, { sub: "carol", exp: now + 60 }, KEY_A)
  assert.equal(JSON.parse((await tryConnect(file.node.port, `vsn=2.0.0&token=${signedNone}`)).body).reason, "bad_alg")
  const after = (await stats(file.node.port)).auth_failures
  for (const reason of Object.keys(cases))
    assert.equal(after[reason] - before[reason], reason === "bad_alg" ? 2 : 1, reason)
})

test("phoenix.js's authToken option: the subprotocol is answered and the state is the token's", async () => {
  const token = mintToken(KEY_A, "frank")
  const s = file.client(undefined, { authToken: token, params: {} })
  const ch = s.channel("room:auth")
  assert.deepEqual(await join(ch), { restored: false, ns: [] })
  ch.push("add", { n: 5 })
  ch.push("oopsy", {})
  await next(cb => ch.onError(cb), 5000, "crash")
  await until(() => ch.state === "joined", 5000, "rejoin")
  assert.deepEqual((await push(ch, "get")).response, { ns: [5] })

  // The same token as a plain ws subprotocol: the answer is "phoenix".
  const b64 = Buffer.from(token).toString("base64").replace(/=/g, "")
  const ws = new WebSocket(`ws://127.0.0.1:${file.node.port}/socket/websocket?vsn=2.0.0`,
                           ["phoenix", `base64url.bearer.phx.${b64}`])
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject) })
  assert.equal(ws.protocol, "phoenix")
  ws.close()
})

test("a topics claim limits the demo channel to those topics", async () => {
  const s = withToken(mintToken(KEY_A, "gina", 3600, { topics: ["room:g1"] }))
  assert.deepEqual(await join(s.channel("room:g1")), { restored: false, ns: [] })
  const other = s.channel("room:g2")
  await assert.rejects(join(other), /topic not allowed/)
  other.leave()
})

test("`chanstate-node token` prints a token the node accepts", async () => {
  const r = spawnSync(process.argv[2], ["token", "--sub=hank", "--ttl=10m", '--claims={"topics":["room:h"]}',
                                        `--token-secret-file=${secrets}`], { encoding: "utf8", timeout: 20000 })
  assert.equal(r.status, 0, r.stderr)
  const token = r.stdout.trim()
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/)
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString())
  assert.equal(claims.sub, "hank")
  assert.equal(claims.exp - claims.iat, 600)
  const ch = withToken(token).channel("room:h")
  assert.deepEqual(await join(ch), { restored: false, ns: [] })
  const bad = spawnSync(process.argv[2], ["token", `--token-secret-file=${secrets}`], { encoding: "utf8", timeout: 20000 })
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /--sub is required/)
})

test("the README's Node example mints a token the node accepts", async () => {
  const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8")
  const m = readme.match(/Issuing tokens from another backend[\s\S]*?```js\n([\s\S]*?)```/)
  assert.ok(m, "README has the token example")
  const token = new Function("secret", "require", `${m[1]}; return token`)(KEY_A, require)
  const ch = withToken(token).channel("room:readme")
  assert.deepEqual(await join(ch), { restored: false, ns: [] })
  assert.equal(token.split(".").length, 3)
})

test("a rotated secret keeps old tokens valid until they expire; dropping it ends them", async () => {
  const rotFile = path.join(dir, "rotating")
  fs.writeFileSync(rotFile, `${KEY_A}\n`)
  const node = await startNode([`--token-secret-file=${rotFile}`])
  try {
    const q = t => `vsn=2.0.0&token=${t}`
    const oldToken = mintToken(KEY_A, "ivy")
    const hup = async n => {
      const seen = node.stderr().length
      process.kill(node.pid, "SIGHUP")
      await until(() => node.stderr().slice(seen).includes(n), 5000, `SIGHUP answer "${n}"`)
    }
    assert.equal((await tryConnect(node.port, q(mintToken(KEY_B, "ivy")))).status, 403)

    fs.writeFileSync(rotFile, `${KEY_B}\n${KEY_A}\n`)
    await hup("reloaded 2 token secret(s)")
    assert.equal((await tryConnect(node.port, q(mintToken(KEY_B, "ivy")))).status, 101)
    assert.equal((await tryConnect(node.port, q(oldToken))).status, 101)
    const oldExpired = await tryConnect(node.port, q(mintToken(KEY_A, "ivy", -60)))
    assert.equal(JSON.parse(oldExpired.body).reason, "expired")

    // A broken file is refused and the loaded secrets stay.
    fs.writeFileSync(rotFile, "too-short\n")
    await hup("kept the token secrets")
    assert.ok(!node.stderr().includes("too-short"), "a secret was logged")
    assert.equal((await tryConnect(node.port, q(oldToken))).status, 101)

    fs.writeFileSync(rotFile, `${KEY_B}\n`)
    await hup("reloaded 1 token secret(s)")
    const dropped = await tryConnect(node.port, q(oldToken))
    assert.equal(JSON.parse(dropped.body).reason, "bad_signature")
    assert.ok(!node.stderr().includes(oldToken.split(".")[2]), "a token was logged")
  } finally {
    await node.stop()
  }
})

test("without a secret the node warns that any client may claim any client id", async () => {
  const node = await startNode()
  try {
    await until(() => /warn.*no --token-secret-file: any client may claim any client_id/.test(node.stderr()), 2000, "warning")
  } finally {
    await node.stop()
  }
})
