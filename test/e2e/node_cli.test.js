// The chanstate-node command: options, config file, exit codes, demo.
"use strict"
const { test } = require("node:test")
const assert = require("node:assert/strict")
const { spawnSync } = require("node:child_process")
const fs = require("node:fs")
const os = require("node:os")
const path = require("node:path")
const { startNode } = require("./lib/node")
const { connect, join } = require("./lib/phx")
const { RawClient } = require("./lib/raw")

const binary = process.argv[2]
const run = (args, timeout = 20000) => spawnSync(binary, args, { encoding: "utf8", timeout, killSignal: "SIGKILL" })

test("--help lists every option and exits 0", () => {
  const r = run(["--help"])
  assert.equal(r.status, 0)
  const text = r.stdout + r.stderr
  for (const opt of ["--host", "--port", "--max-frame-bytes", "--max-channels", "--idle-timeout",
                     "--handshake-timeout", "--max-outbound-bytes", "--allowed-origins",
                     "--backup-ttl", "--max-backups", "--max-backup-bytes", "--poison-crashes",
                     "--generations", "--down-wait", "--sweep-interval", "--pack-after", "--restore-timeout",
                     "--ack", "--config-file", "demo"]) {
    assert.ok(text.includes(opt), `--help mentions ${opt}`)
  }
})

test("a mimalloc build runs on large OS pages unless MIMALLOC_LARGE_OS_PAGES says otherwise", () => {
  const allocator = (value) => {
    const env = { ...process.env }
    delete env.MIMALLOC_LARGE_OS_PAGES
    if (value !== undefined) env.MIMALLOC_LARGE_OS_PAGES = value
    const r = spawnSync(binary, ["--help"], { encoding: "utf8", timeout: 20000, env })
    assert.equal(r.status, 0)
    const name = (r.stdout.match(/^allocator: (.*)$/m) || [])[1]
    assert.ok(name, "--help names the allocator")
    return name
  }
  const byDefault = allocator()
  if (!byDefault.startsWith("mimalloc")) return // a system or jemalloc build (sanitizers)
  assert.match(byDefault, /^mimalloc \S+ \(large OS pages\)$/)
  assert.doesNotMatch(allocator("0"), /large OS pages/)
  assert.match(allocator("1"), /large OS pages/)
})

test("the README's Configuration table and --help name the same options", () => {
  const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8")
  const section = readme.split("\n## Configuration\n")[1].split("\n## ")[0]
  const documented = new Set(section.split("\n").filter(l => l.startsWith("| `--"))
    .flatMap(l => [...l.split("|")[1].matchAll(/`(--[a-z-]+)`/g)].map(m => m[1])))
  const help = run(["--help"]).stdout
  // CAF's own --long-help and --dump-config are said in the prose above the table.
  const listed = new Set([...help.matchAll(/^  (--[a-z-]+)[=\s]/gm)].map(m => m[1])
    .filter(o => o !== "--long-help" && o !== "--dump-config"))
  assert.ok(listed.size > 30, help)
  for (const o of listed) assert.ok(documented.has(o), `${o} is missing from the README's table`)
  for (const o of documented) assert.ok(listed.has(o), `the README's ${o} is not in --help`)
})

test("an unknown option is refused with exit code 2", () => {
  const r = run(["--prot=4000"])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /prot/)
})

test("--ack takes durable or async; anything else is refused with exit code 2", () => {
  const r = run(["--ack=sometimes"])
  assert.equal(r.status, 2)
  assert.match(r.stderr, /ack must be durable or async, got 'sometimes'/)
})

test("a port already in use: exit code 1 and why", async () => {
  const first = await startNode()
  try {
    const r = run(["--host=127.0.0.1", `--port=${first.port}`])
    assert.equal(r.status, 1)
    assert.match(r.stderr, /cannot listen/)
    assert.equal(r.stdout, "")
  } finally {
    await first.stop()
  }
})

test("an INI config file sets the options", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chanstate-e2e-"))
  const ini = path.join(dir, "node.ini")
  fs.writeFileSync(ini, "max-channels = 1\nmax-frame-bytes = 4096\n")
  const node = await startNode([`--config-file=${ini}`])
  try {
    const c = await RawClient.open(node.port, "client_id=ini&vsn=2.0.0")
    assert.equal((await c.join("room:a")).reply[4].status, "ok")
    assert.deepEqual((await c.join("room:b")).reply[4].response, { reason: "too many channels joined" })
    c.sendText(JSON.stringify(["1", "9", "room:a", "get", { pad: "x".repeat(5000) }]))
    assert.equal((await c.closed).code, 1009)
  } finally {
    await node.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test("SIGINT with live channels shuts down cleanly, exit code 0", async () => {
  const node = await startNode()
  const s = connect(node.url, "sigint")
  await join(s.channel("room:a"))
  await join(s.channel("room:b"))
  const r = await node.stop("SIGINT")
  s.disconnect()
  assert.deepEqual(r, { code: 0, signal: null })
  assert.match(node.stderr(), /shutting down/)
})

test("chanstate-node demo still runs the seed scenario in-process", () => {
  const r = run(["demo"], 60000)
  assert.equal(r.status, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout.trim()).ok, true)
})
