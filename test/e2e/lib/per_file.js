// Fixtures that live for a whole test file: the nodes and phoenix.js
// sockets its tests open (and any temporary folders) all go after the
// file's last test.
"use strict"
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { before, after } = require("node:test")
const { startNode } = require("./node")
const { connect } = require("./phx")

/// One node for the whole file. `f.node` is set once the file's tests run;
/// `f.client(id, opts)` opens a phoenix.js socket (opts as connect takes
/// them) that is closed at the end.
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

/// For files whose tests start nodes of their own (clusters, restarts):
/// `f.node(args)` starts one, `f.client(url, id, opts)` opens a phoenix.js
/// socket on it and `f.tempDir(prefix)` makes a folder. After the file's
/// last test the sockets are closed, the nodes still running SIGKILLed (a
/// test that cares how its node ends stops it itself) and the folders
/// removed.
function nodesPerFile() {
  const sockets = []
  const nodes = []
  const dirs = []
  after(async () => {
    for (const s of sockets) s.disconnect()
    for (const n of nodes) await n.stop("SIGKILL")
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  })
  return {
    async node(args = []) {
      const n = await startNode(args)
      nodes.push(n)
      return n
    },
    client(url, id, opts) {
      const s = connect(url, id, opts)
      sockets.push(s)
      return s
    },
    tempDir(prefix) {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
      dirs.push(d)
      return d
    },
  }
}

module.exports = { nodePerFile, nodesPerFile }
