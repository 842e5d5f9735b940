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

// The scheduler is CAF's (--scheduler.*, [scheduler] in the file); the
// node's defaults and what is in effect show in the node_start log line.
async function startLine(args) {
  const node = await startNode(["--log-format=json", ...args])
  try {
    await node.stop()
    const line = node.stderr().split("\n").find(l => l.includes('"node_start"'))
    assert.ok(line, node.stderr())
    const { scheduler, workers, steal_polls } = JSON.parse(line)
    return { scheduler, workers, steal_polls }
  } finally {
    await node.stop()
  }
}

test("the scheduler: defaults, the command line and the file in node_start", async () => {
  const help = run(["--help"])
  const m = help.stdout.match(/--scheduler\.policy=stealing\|sharing \(default (\w+)\), --scheduler\.max-threads=N \(default (\d+)\), --work-stealing\.aggressive-poll-attempts=N \(default (\d+)\) and \.moderate-poll-attempts=N \(default (\d+)\)/)
  assert.ok(m, help.stdout)
  assert.deepEqual(await startLine([]), { scheduler: m[1], workers: Number(m[2]), steal_polls: `${m[3]}/${m[4]}` })
  const other = m[1] === "sharing" ? "stealing" : "sharing"
  assert.deepEqual(await startLine([`--scheduler.policy=${other}`, "--scheduler.max-threads=3", "--work-stealing.moderate-poll-attempts=500"]),
    { scheduler: other, workers: 3, steal_polls: `${m[3]}/500` })
  await withIni(`[scheduler]\npolicy = '${other}' # an atom\nmax-threads = 1\n[work-stealing]\naggressive-poll-attempts = 100\nmoderate-sleep-duration = 100us\n`,
    async ini => assert.deepEqual(await startLine([`--config-file=${ini}`]), { scheduler: other, workers: 1, steal_polls: `100/${m[4]}` }))
})

test("a scheduler policy CAF would ignore or replace is an error, exit code 2", () =>
  withIni('[scheduler]\npolicy = "sharing"\n', ini => {
    const r = run([`--config-file=${ini}`])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /line 2: --scheduler\.policy takes an atom, in single quotes \('sharing'\), got: "sharing"/)
    for (const p of ["testing", "bogus"]) {
      const c = run([`--scheduler.policy=${p}`])
      assert.equal(c.status, 2)
      assert.match(c.stderr, new RegExp(`scheduler.policy must be stealing or sharing, got '${p}'`))
    }
    assert.equal(run(["--scheduler.max-threads=0"]).status, 2)
  }))

test("a value of the wrong type in the file is an error naming the option", () =>
  withIni("join-rate = 5\n", ini => {
    // CAF's own INI reader would drop it and keep the default.
    const r = run([`--config-file=${ini}`])
    assert.equal(r.status, 2)
    assert.match(r.stderr, /line 1: --join-rate takes a number with a decimal point \(20\.0\), got: 5/)
  }))
