// One node for a whole test file, and the phoenix.js sockets its tests
// open: all of them are stopped after the file's last test.
"use strict"
const { before, after } = require("node:test")
const { startNode } = require("./node")
const { connect } = require("./phx")

/// `f.node` is set once the file's tests run; `f.client(id, opts)` opens a
/// phoenix.js socket (opts as connect takes them) that is closed at the end.
function nodePerFile(args = []) {
  const f = { node: null, sockets: [] }
  before(async () => { f.node = await startNode(args) })
  after(async () => {
    for (const s of f.sockets) s.disconnect()
    if (f.node) await f.node.stop()
  })
  f.client = (id, opts) => {
    const s = connect(f.node.url, id, opts)
    f.sockets.push(s)
    return s
  }
  return f
}

module.exports = { nodePerFile }
