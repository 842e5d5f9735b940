// chanstate-node's config file format and --version (README, Configuration).
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { spawnSync } = require("node:child_process")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { startNode } = require("./lib/node")
const { RawClient } = require("./lib/raw")

const binary = process.argv[2]
const run = (args, timeout = 20000) => spawnSync(binary, args, { encoding: "utf8", timeout, killSignal: "SIGKILL" })
const example = path.join(__dirname, "..", "..", "packaging", "node.ini.example")

function withIni(text, fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chanstate-e2e-"))
  const ini = path.join(dir, "node.ini")
  fs.writeFileSync(ini, text)
  return Promise.resolve(fn(ini)).finally(() => fs.rmSync(dir, { recursive: true, force: true }))
}

test("--version prints the version and exits 0", () => {
  const r = run(["--version"])
  assert.equal(r.status, 0)
  assert.match(r.stdout, /^chanstate-node \d+\.\d+\.\d+\n$/)
})

test("# comments, whole-line and after a value, are accepted", () =>
  withIni("# limits\nmax-channels = 1 # one per socket\n; old style\n", async ini => {
    const node = await startNode([`--config-file=${ini}`])
    try {
      const c = await RawClient.open(node.port, "client_id=cfg&vsn=2.0.0")
      assert.equal((await c.join("room:a")).reply[4].status, "ok")
      assert.deepEqual((await c.join("room:b")).reply[4].response, { reason: "too many channels joined" })
      c.close()
    } finally {
      await node.stop()
    }
  }))

test("a misspelt key is an error naming it, exit code 2", () =>
  withIni("port = 4000\nmax-chanels = 10\n", ini => {
    const r = run([`--config-file=${ini}`])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /line 2: unknown option --max-chanels/)
    assert.equal(r.stdout, "")
  }))

test("a key in an unknown section is an error too", () =>
  withIni("[schedular]\nmax-threads = 2\n", ini => {
    const r = run([`--config-file=${ini}`])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /unknown option --schedular\.max-threads/)
  }))

test("a missing config file is an error, exit code 2", () => {
  const r = run(["--config-file=/nonexistent/node.ini"])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /cannot open config file \/nonexistent\/node.ini/)
})

test("the shipped node.ini.example is valid; the command line overrides it", async () => {
  const node = await startNode([`--config-file=${example}`]) // --port=0 after it wins
  try {
    assert.notEqual(node.port, 4000)
  } finally {
    assert.deepEqual(await node.stop(), { code: 0, signal: null })
  }
})
