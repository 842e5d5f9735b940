// examples/counter-service, driven as its README says: start the service on
// a free port, run examples/counter-service/client.js (phoenix.js) against
// it, check the count survived the crash, check connect/3 refusals, stop it.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { spawn, spawnSync } = require("node:child_process")
const http = require("node:http")

const [service, client] = process.argv.slice(2)

function start() {
  return new Promise((resolve, reject) => {
    const child = spawn(service, ["0"], { stdio: ["ignore", "pipe", "pipe"] })
    process.on("exit", () => { try { child.kill("SIGKILL") } catch (_) {} })
    let out = "", err = ""
    const exited = new Promise(res => child.on("exit", (code, signal) => res({ code, signal })))
    const timer = setTimeout(() => reject(new Error(`no URL within 10 s: ${err}`)), 10000)
    child.stderr.on("data", d => { err += d })
    child.stdout.on("data", d => {
      out += d
      const m = out.match(/^counter-service listening on (ws:\/\/\S+)\n/m)
      if (!m) return
      clearTimeout(timer)
      resolve({ url: m[1], port: Number(new URL(m[1]).port), child, exited, stderr: () => err })
    })
    exited.then(r => reject(new Error(`exited early ${JSON.stringify(r)}: ${err}`)))
  })
}

function upgrade(port, query) {
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: "127.0.0.1", port, path: `/socket/websocket?${query}`,
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
    }, res => {
      let body = ""
      res.on("data", d => { body += d })
      res.on("end", () => resolve({ status: res.statusCode, body }))
    })
    req.on("upgrade", res => { res.socket.destroy(); resolve({ status: 101, body: "" }) })
    req.on("error", reject)
  })
}

test("counter-service serves its channel; the count survives a crash; SIGTERM exits 0", async () => {
  const svc = await start()
  try {
    // connect/3 of the example: no user, no socket; the reason is said.
    const refused = await upgrade(svc.port, "vsn=2.0.0")
    assert.equal(refused.status, 403)
    assert.match(refused.body, /a user param is required/)
    assert.equal((await upgrade(svc.port, "vsn=2.0.0&user=ada")).status, 101)

    const r = spawnSync(process.execPath, [client, svc.url],
                        { encoding: "utf8", timeout: 20000, env: process.env })
    assert.equal(r.status, 0, `client failed: ${r.stdout}\n${r.stderr}`)
    assert.match(r.stdout, /^joined \{"restored":false,"count":0\}$/m)
    assert.match(r.stdout, /^count 42$/m)
    assert.match(r.stdout, /^channel error/m)
    assert.match(r.stdout, /^joined \{"restored":true,"count":42\}$/m)
    assert.match(r.stdout, /^after crash 42$/m)
  } finally {
    svc.child.kill("SIGTERM")
  }
  const t = setTimeout(() => svc.child.kill("SIGKILL"), 10000)
  const exit = await svc.exited
  clearTimeout(t)
  assert.deepEqual(exit, { code: 0, signal: null }, svc.stderr())
})
