// A raw Phoenix v2 client over `ws`: exact frames in, exact frames out.
"use strict"
const { WebSocket } = require("ws")

class RawClient {
  /// Opens ws://127.0.0.1:PORT/socket/websocket?QUERY. Rejects with
  /// err.status set when the server refuses the upgrade.
  static open(port, query = "client_id=raw&vsn=2.0.0", options = {}) {
    const url = `ws://127.0.0.1:${port}/socket/websocket${query === null ? "" : "?" + query}`
    const ws = new WebSocket(url, options)
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new RawClient(ws)))
      ws.once("unexpected-response", (req, res) => {
        const err = new Error(`upgrade refused: ${res.statusCode}`)
        err.status = res.statusCode
        let body = ""
        res.on("data", d => { body += d })
        res.on("end", () => { err.body = body; reject(err) })
        req.destroy()
      })
      ws.once("error", reject)
    })
  }

  constructor(ws) {
    this.ws = ws
    this.frames = [] // received, not yet taken
    this.waiters = []
    this.refs = 0
    this.closed = new Promise(resolve => {
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }))
    })
    ws.on("error", () => {}) // a refused or reset connection shows in `closed`
    ws.on("message", (data, isBinary) => {
      const frame = isBinary ? { binary: data } : JSON.parse(data.toString())
      this.frames.push(frame)
      this.waiters = this.waiters.filter(w => !w())
    })
  }

  /// The next ref, as phoenix.js renders them.
  ref() { return String(++this.refs) }

  send(frame) { this.ws.send(JSON.stringify(frame)) }
  sendText(text) { this.ws.send(text) }
  sendBinary(buf) { this.ws.send(buf, { binary: true }) }

  /// Resolves with (and removes) the first received frame matching `pred`.
  next(pred = () => true, ms = 3000) {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(this.frames)}`))
      }, ms)
      const check = () => {
        const i = this.frames.findIndex(pred)
        if (i < 0) return false
        clearTimeout(t)
        resolve(this.frames.splice(i, 1)[0])
        return true
      }
      if (!check()) this.waiters.push(check)
    })
  }

  /// The reply to `ref`.
  reply(ref, ms) { return this.next(f => f[3] === "phx_reply" && f[1] === ref, ms) }

  /// Sends [jr, ref, topic, event, payload] and resolves with its reply.
  async call(jr, topic, event, payload = {}) {
    const ref = this.ref()
    this.send([jr, ref, topic, event, payload])
    return this.reply(ref)
  }

  /// Joins with a fresh ref as join ref; resolves with the reply frame.
  async join(topic, params = {}) {
    const ref = this.ref()
    this.send([ref, ref, topic, "phx_join", params])
    const r = await this.reply(ref)
    return { jr: ref, reply: r }
  }

  /// A heartbeat round trip: everything sent before it has been handled.
  async sync() {
    const ref = this.ref()
    this.send([null, ref, "phoenix", "heartbeat", {}])
    return this.reply(ref)
  }

  close(code, reason) { this.ws.close(code, reason) }
}

module.exports = { RawClient }
