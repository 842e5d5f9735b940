// The demo page at `/` in a real browser: Debian's chromium, headless,
// driven by playwright-core (which downloads no browser). One launch.
"use strict"
const { test, before, after } = require("node:test")
const assert = require("node:assert/strict")
const fs = require("node:fs")
const path = require("node:path")
const { chromium } = require("playwright-core")
const { startNode, httpGet, stats } = require("../e2e/lib/node")

// argv: <chanstate-node> <folder for screenshots>
const shotDir = process.argv[3] || path.join(__dirname, "..", "..", "build")
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium"

let node
let browser
const pageErrors = []

before(async () => {
  node = await startNode()
  // playwright-core adds --headless and a fresh --user-data-dir itself; the
  // rest keeps chromium off the network and quiet in a container.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update",
      "--disable-sync"],
  })
})

after(async () => {
  if (browser) await browser.close()
  if (node) await node.stop()
})

const base = () => `http://127.0.0.1:${node.port}`

async function openClient(clientId, topic, viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport })
  page.on("pageerror", e => pageErrors.push(`${clientId}: ${e.message}`))
  page.on("console", m => { if (m.type() === "error") pageErrors.push(`${clientId}: ${m.text()}`) })
  await page.goto(`${base()}/?client_id=${clientId}&topic=${encodeURIComponent(topic)}`)
  await page.locator("#channel-state", { hasText: "joined" }).waitFor()
  return page
}

const nsOf = page => page.locator("#ns li").allTextContents()

async function waitNs(page, expected) {
  await page.waitForFunction(
    want => JSON.stringify([...document.querySelectorAll("#ns li")].map(li => Number(li.textContent))) === want,
    JSON.stringify(expected), { timeout: 5000 })
}

async function add(page, n) {
  await page.fill("#n", String(n))
  await page.click("#add")
}

// Waits for the log to hold `count` entries of class `cls` with `text`.
async function logEntry(page, cls, text, count = 1) {
  await page.waitForFunction(([cls, text, count]) =>
    [...document.querySelectorAll(`#log li.${cls}`)]
      .filter(li => li.textContent.includes(text)).length >= count,
  [cls, text, count], { timeout: 5000 })
}

// The node panel refreshes each second: wait for a figure to reach `min`.
async function waitFigure(page, id, min) {
  await page.waitForFunction(([id, min]) =>
    Number(document.getElementById(`stat-${id}`).textContent) >= min,
  [id, min], { timeout: 5000 })
}

test("the page's files are served by the node", async () => {
  const index = await httpGet(node.port, "/")
  assert.equal(index.status, 200)
  assert.match(index.headers["content-type"], /^text\/html/)
  const phx = await httpGet(node.port, "/phoenix.js")
  assert.equal(phx.status, 200)
  assert.match(phx.body, /var Phoenix =/, "the official phoenix.js browser build")
})

test("a state survives a crash in the browser, and a leave drops it", async () => {
  const s0 = await stats(node.port)
  const page = await openClient("browser-a", "room:browser")
  await logEntry(page, "ok", "restored: false")

  // add 2149 and 1234; the list shown is the node's answer to get
  await add(page, 2149)
  await waitNs(page, [2149])
  await add(page, 1234)
  await waitNs(page, [2149, 1234])

  // crash: phx_error, phoenix.js rejoins by itself, the join says restored
  await page.click("#crash")
  await logEntry(page, "error", "phx_error")
  await logEntry(page, "rejoin", "automatic rejoin")
  await logEntry(page, "restore", "restored: true")
  await waitNs(page, [2149, 1234])
  await page.locator("#restored").waitFor({ state: "visible" })

  // another tab, another client id: its own, empty state on the same topic
  const other = await openClient("browser-b", "room:browser")
  await logEntry(other, "ok", "restored: false")
  await add(other, 7)
  await waitNs(other, [7])
  await page.click("#get")
  await logEntry(page, "ok", "get ok: ns [2149,1234]")

  // the node panel caught up with the crash and the restore
  await waitFigure(page, "restores-from_backup", s0.restores.from_backup + 1)
  await waitFigure(page, "exits-kept_after_crash", s0.exits.kept_after_crash + 1)
  await waitFigure(page, "live_channels", 2)
  fs.mkdirSync(shotDir, { recursive: true })
  await page.screenshot({ path: path.join(shotDir, "demo-page.png"), animations: "disabled" })
  await other.close()

  // leave (a normal end: the state is discarded), rejoin to an empty list
  await page.click("#leave")
  await page.locator("#channel-state", { hasText: "closed" }).waitFor()
  await page.click("#rejoin")
  await page.locator("#channel-state", { hasText: "joined" }).waitFor()
  await logEntry(page, "ok", "join ok: restored: false, ns []", 2)
  assert.deepEqual(await nsOf(page), [])
  await waitFigure(page, "exits-discarded_normal", s0.exits.discarded_normal + 1)

  // the panel shows what /stats says
  const s1 = await stats(node.port)
  assert.ok(s1.restores.fresh >= s0.restores.fresh + 3, "three fresh joins")
  assert.equal(s1.restores.from_backup, s0.restores.from_backup + 1)

  // phone width: the same page, one column
  await page.setViewportSize({ width: 390, height: 844 })
  await page.screenshot({ path: path.join(shotDir, "demo-page-phone.png"), fullPage: true, animations: "disabled" })
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  assert.ok(overflow <= 0, `no horizontal scrolling at phone width (${overflow}px too wide)`)
  await page.close()
  assert.deepEqual(pageErrors, [])
})

test("dropping the connection keeps the state: phoenix.js reconnects and rejoins", async () => {
  const page = await openClient("browser-c", "room:drop")
  await add(page, 42)
  await waitNs(page, [42])
  await page.click("#drop")
  await logEntry(page, "error", "phx_error")
  await logEntry(page, "restore", "restored: true, ns [42]")
  await page.close()
  assert.deepEqual(pageErrors, [])
})
