// Starts and stops a real chanstate-node for one test file; never leaves one behind.
"use strict"
const net = require("node:net")
const { spawn } = require("node:child_process")
const http = require("node:http")

const binary = process.env.CHANSTATE_NODE || process.argv[2]
if (!binary) {
  console.error("usage: node <test>.js <path to chanstate-node>")
  process.exit(2)
}

const running = new Set()
// Whatever happens to this process, the nodes it started go with it.
function killAll() {
  for (const child of running) {
    try { child.kill("SIGKILL") } catch (_) { /* already gone */ }
  }
}
process.on("exit", killAll)
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => { killAll(); process.exit(1) })
}

/// Starts a node on a free loopback port; resolves once it printed its URL.
/// `args` are extra command-line options.
function startNode(args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["--host=127.0.0.1", "--port=0", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    })
    running.add(child)
    let out = ""
    let err = ""
    const exited = new Promise(res => child.on("exit", (code, signal) => {
      running.delete(child)
      res({ code, signal })
    }))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`node printed no URL within 10 s; stderr: ${err}`))
    }, 10000)
    child.stderr.on("data", d => { err += d })
    child.stdout.on("data", d => {
      out += d
      // "chanstate-node listening on URL (ready)" or "(not ready: why)"
      const m = out.match(/^chanstate-node listening on (wss?:\/\/\S+) \(.*\)\n/m)
      if (!m) return
      clearTimeout(timer)
      const url = m[1]
      const port = Number(new URL(url).port)
      resolve({
        url, // ws://127.0.0.1:PORT/socket, what phoenix.js takes
        port,
        pid: child.pid,
        stdout: () => out,
        stderr: () => err,
        exited,
        /// SIGTERM (or `signal`), then the exit status; SIGKILL after 10 s.
        async stop(signal = "SIGTERM") {
          if (!running.has(child)) return exited
          child.kill(signal)
          const t = setTimeout(() => child.kill("SIGKILL"), 10000)
          const r = await exited
          clearTimeout(t)
          return r
        },
      })
    })
    child.on("error", e => { clearTimeout(timer); reject(e) })
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`node exited early (${code ?? signal}); stderr: ${err}`))
    })
  })
}

/// GET a path of the node; resolves {status, headers, body}.
function httpGet(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, headers }, res => {
      let body = ""
      res.on("data", d => { body += d })
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }))
    })
    req.on("error", reject)
    req.setTimeout(5000, () => req.destroy(new Error("GET timed out")))
  })
}

async function stats(port) {
  const r = await httpGet(port, "/stats")
  if (r.status !== 200) throw new Error(`/stats answered ${r.status}: ${r.body}`)
  return JSON.parse(r.body)
}

/// A loopback port nobody listens on (yet): for a node that must be started
/// later on a port known in advance (a registry node and its restart).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

module.exports = { startNode, httpGet, stats, freePort }
