// The real phoenix.js client with test-sized timers (Node 20 needs the ws transport), plus promise helpers.
"use strict"
const { WebSocket } = require("ws")
const { Socket } = require("phoenix")

/// A phoenix.js socket for `clientId` with test-sized timers.
/// `opts` override the defaults (e.g. heartbeatIntervalMs).
function connect(url, clientId, opts = {}) {
  const socket = new Socket(url, {
    transport: WebSocket, // Node 20 has no global WebSocket
    params: { client_id: clientId },
    timeout: 3000,
    heartbeatIntervalMs: 1000,
    rejoinAfterMs: () => 50,
    reconnectAfterMs: () => 50,
    ...opts,
  })
  socket.connect()
  return socket
}

/// Resolves with the join's ok response; rejects on error or timeout.
/// Later successful rejoins call `onRejoin(response)`.
function join(channel, onRejoin = () => {}) {
  let first = true
  return new Promise((resolve, reject) => {
    channel.join()
      .receive("ok", r => {
        if (first) { first = false; resolve(r) } else onRejoin(r)
      })
      .receive("error", r => { if (first) { first = false; reject(new Error(`join error ${JSON.stringify(r)}`)) } })
      .receive("timeout", () => { if (first) { first = false; reject(new Error("join timeout")) } })
  })
}

/// Pushes and resolves with {status, response} ("timeout" as a status too).
function push(channel, event, payload = {}) {
  return new Promise(resolve => {
    channel.push(event, payload)
      .receive("ok", response => resolve({ status: "ok", response }))
      .receive("error", response => resolve({ status: "error", response }))
      .receive("timeout", () => resolve({ status: "timeout" }))
  })
}

/// Resolves with the next payload `register(cb)` delivers, e.g.
/// next(cb => ch.onError(cb)); rejects after `ms`.
function next(register, ms = 5000, what = "event") {
  return new Promise((resolve, reject) => {
    let done = false
    const t = setTimeout(() => { done = true; reject(new Error(`no ${what} within ${ms} ms`)) }, ms)
    register(x => {
      if (done) return
      done = true
      clearTimeout(t)
      resolve(x)
    })
  })
}

/// Polls `check` until it returns a truthy value; rejects after `ms`.
async function until(check, ms = 5000, what = "condition") {
  const end = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`)
    await sleep(20)
  }
}

const sleep = ms => new Promise(r => setTimeout(r, ms))

module.exports = { connect, join, push, next, until, sleep }
