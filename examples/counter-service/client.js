// Drives counter-service with the phoenix npm client (npm install
// phoenix@1.8.16 ws): inc, crash, and the count is still there after
// phoenix.js rejoined. Usage: node client.js ws://127.0.0.1:4000/socket
const { WebSocket } = require("ws")
const { Socket } = require("phoenix")

const url = process.argv[2] || "ws://127.0.0.1:4000/socket"
const socket = new Socket(url, { transport: WebSocket, params: { user: "ada" } })
socket.connect()
const ch = socket.channel("counter:clicks")
const push = (event, payload = {}) => new Promise((resolve, reject) =>
  ch.push(event, payload).receive("ok", resolve).receive("error", reject)
    .receive("timeout", () => reject(new Error(`${event}: timeout`))))

let joins = 0
ch.join().receive("ok", async reply => {
  joins += 1
  console.log("joined", JSON.stringify(reply))
  if (joins === 1) {
    await push("inc")
    const r = await push("inc", { by: 41 })
    console.log("count", r.count)                // 42
    ch.push("crash", {})                         // the channel crashes...
  } else {
    const r = await push("get")                  // ...phoenix.js rejoins
    console.log("after crash", r.count)          // still 42
    ch.leave().receive("ok", () => socket.disconnect(() => process.exit(0)))
  }
})
// The crash shows up as phx_error: phoenix.js calls onError, then rejoins.
ch.onError(() => console.log("channel error (crashed; phoenix.js rejoins)"))
setTimeout(() => { console.error("no answer within 10 s"); process.exit(1) }, 10000)
