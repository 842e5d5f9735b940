// wss://: phoenix.js over TLS with a CA the test makes; clients that do not
// trust it, or speak plain ws://, get nothing and are counted.
"use strict"
const { test, after } = require("node:test")
const assert = require("node:assert/strict")
const { spawnSync } = require("node:child_process")
const fs = require("node:fs")
const https = require("node:https")
const os = require("node:os")
const path = require("node:path")
const { WebSocket } = require("ws")
const { Socket } = require("phoenix")
const { startNode } = require("./lib/node")
const { join, push, next, until } = require("./lib/phx")
const { mintToken } = require("./lib/mint")

const binary = process.argv[2]
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chanstate-wss-"))
const nodes = []
const sockets = []
after(async () => {
  for (const s of sockets) s.disconnect()
  for (const n of nodes) await n.stop()
  fs.rmSync(dir, { recursive: true, force: true })
})

function openssl(...args) {
  const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" })
  assert.equal(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`)
}
const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
openssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=wss-test-ca")
openssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n")
openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "san.ext")
const ca = fs.readFileSync(path.join(dir, "ca.pem"))
const KEY = "wss-secret-0123456789abcdef0123456789abcdef"
fs.writeFileSync(path.join(dir, "secrets"), KEY + "\n")
const tlsArgs = [`--tls-cert=${path.join(dir, "server.pem")}`, `--tls-key=${path.join(dir, "server.key")}`]

/// `ws` with our CA as the only trusted one (phoenix.js calls
/// new transport(url, protocols)).
class TrustingWebSocket extends WebSocket {
  constructor(url, protocols) { super(url, protocols, { ca }) }
}

function stats(port) {
  return new Promise((resolve, reject) => {
    https.get({ host: "127.0.0.1", port, path: "/stats", ca }, res => {
      let body = ""
      res.on("data", d => { body += d })
      res.on("end", () => resolve(JSON.parse(body)))
    }).on("error", reject)
  })
}

let shared = null
async function tlsNode() {
  if (!shared) {
    shared = await startNode([...tlsArgs, `--token-secret-file=${path.join(dir, "secrets")}`])
    nodes.push(shared)
  }
  return shared
}

test("phoenix.js over wss://, with an authToken: join, crash, rejoin restored", async () => {
  const node = await tlsNode()
  assert.match(node.url, /^wss:\/\/127\.0\.0\.1:\d+\/socket$/)
  const s = new Socket(node.url, {
    transport: TrustingWebSocket, authToken: mintToken(KEY, "wendy"),
    timeout: 3000, heartbeatIntervalMs: 1000, rejoinAfterMs: () => 50, reconnectAfterMs: () => 50,
  })
  sockets.push(s)
  s.connect()
  const ch = s.channel("room:wss")
  assert.deepEqual(await join(ch), { restored: false, ns: [] })
  ch.push("add", { n: 11 })
  const crashed = next(cb => ch.onError(cb), 5000, "crash")
  ch.push("oopsy", {})
  await crashed
  await until(() => ch.state === "joined", 5000, "rejoin")
  assert.deepEqual((await push(ch, "get")).response, { ns: [11] })
  assert.ok((await stats(node.port)).transport.connections_open >= 1)
})

test("a client that does not trust the CA, or speaks plain ws://, gets no connection; both are counted", async () => {
  const node = await tlsNode()
  const before = (await stats(node.port)).transport.tls_handshakes_failed
  const untrusted = new WebSocket(`${node.url}/websocket?vsn=2.0.0&token=${mintToken(KEY, "eve")}`)
  const err = await new Promise(resolve => { untrusted.once("error", resolve); untrusted.once("open", () => resolve(null)) })
  assert.ok(err, "a client without our CA connected")
  assert.match(err.message, /certificate/)
  const plain = new WebSocket(`ws://127.0.0.1:${node.port}/socket/websocket?vsn=2.0.0`)
  const plainErr = await new Promise(resolve => { plain.once("error", resolve); plain.once("open", () => resolve(null)) })
  assert.ok(plainErr, "plain ws:// connected to the TLS port")
  await until(async () => (await stats(node.port)).transport.tls_handshakes_failed >= before + 2, 5000,
              "two failed handshakes counted")
})

test("--tls-cert needs --tls-key; unreadable files fail the start", () => {
  const run = args => spawnSync(binary, ["--port=0", ...args], { encoding: "utf8", timeout: 20000, killSignal: "SIGKILL" })
  const half = run([tlsArgs[0]])
  assert.equal(half.status, 2)
  assert.match(half.stderr, /needs both --tls-cert and --tls-key/)
  const missing = run(["--tls-cert=/nonexistent.pem", "--tls-key=/nonexistent.key"])
  assert.equal(missing.status, 1)
  assert.match(missing.stderr, /cannot load --tls-cert/)
})
