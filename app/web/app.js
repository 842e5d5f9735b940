// The demo page's client: one phoenix.js socket and channel, an event log of
// what happens to them, and the node's counters from /stats every second.
"use strict"
;(() => {
  const $ = id => document.getElementById(id)
  const params = new URLSearchParams(location.search)

  // A tab keeps its client id across reloads (sessionStorage is per tab),
  // so two tabs are two clients unless the address names the same one.
  function initialClientId() {
    const fromUrl = params.get("client_id")
    if (fromUrl) return fromUrl
    const saved = sessionStorage.getItem("chanstate.client_id")
    if (saved) return saved
    const id = "tab-" + Math.random().toString(36).slice(2, 8)
    sessionStorage.setItem("chanstate.client_id", id)
    return id
  }

  // --- event log -----------------------------------------------------------
  function log(kind, text) {
    const li = document.createElement("li")
    li.className = kind
    const time = document.createElement("time")
    time.textContent = new Date().toLocaleTimeString([], { hour12: false })
    const span = document.createElement("span")
    span.textContent = text
    li.append(time, span)
    const list = $("log")
    list.prepend(li)
    while (list.children.length > 200) list.lastChild.remove()
  }
  const show = v => JSON.stringify(v)

  // --- the client ----------------------------------------------------------
  let socket = null
  let channel = null
  let errored = false // a phx_error since the last successful join
  let joins = 0       // successful joins of the current channel object

  function renderNs(ns) {
    const list = $("ns")
    list.replaceChildren(...ns.map(n => {
      const li = document.createElement("li")
      li.textContent = n
      return li
    }))
    list.dataset.empty = ns.length === 0 ? "true" : "false"
  }

  function connect() {
    const clientId = $("client-id").value.trim()
    const topic = $("topic").value.trim()
    if (socket) {
      log("info", "socket.disconnect(): a clean close, so the node discards this client's state")
      socket.disconnect()
    }
    sessionStorage.setItem("chanstate.client_id", clientId)
    history.replaceState(null, "", `?client_id=${encodeURIComponent(clientId)}&topic=${encodeURIComponent(topic)}`)
    socket = new Phoenix.Socket("/socket", {
      params: { client_id: clientId },
      // Outgoing joins are what phoenix.js does by itself after phx_error.
      logger: (kind, msg) => {
        if (kind === "push" && / phx_join /.test(msg))
          log(errored ? "rejoin" : "info",
            (errored ? "automatic rejoin: " : "") + "→ phx_join " + msg.split(" ")[0])
      },
    })
    socket.onOpen(() => log("info", `socket open as client_id ${clientId}`))
    socket.onClose(e => log("warn", `socket closed (code ${e.code}${e.reason ? ", " + e.reason : ""})`))
    socket.connect()
    join(topic)
  }

  function join(topic) {
    channel = socket.channel(topic, {})
    errored = false
    joins = 0
    channel.onError(reason => {
      errored = true
      log("error", `← phx_error ${show(reason)}` +
        (socket.isConnected() ? ": phoenix.js rejoins by itself" : ": phoenix.js reconnects, then rejoins"))
    })
    channel.onClose(() => log("info", `← phx_close ${topic}`))
    channel.on("pong", p => log("info", `← pong ${show(p)}`))
    channel.join()
      .receive("ok", r => {
        joins += 1
        const again = errored || joins > 1
        log(r.restored ? "restore" : "ok",
          `← join ok${again ? " (after rejoin)" : ""}: restored: ${r.restored}, ns ${show(r.ns)}` +
          (r.note ? `, note: ${r.note}` : ""))
        errored = false
        $("restored").hidden = !r.restored
        renderNs(r.ns || [])
      })
      .receive("error", r => log("error", `← join error ${show(r)}`))
      .receive("timeout", () => log("error", "join timed out"))
  }

  function push(event, payload, onOk) {
    log("info", `→ ${event} ${show(payload)}`)
    channel.push(event, payload)
      .receive("ok", r => { if (onOk) onOk(r) })
      .receive("error", r => log("error", `← ${event} error ${show(r)}`))
      .receive("timeout", () => log("warn", `${event}: no reply (timed out)`))
  }

  function get() {
    push("get", {}, r => {
      log("ok", `← get ok: ns ${show(r.ns)}`)
      renderNs(r.ns)
    })
  }

  $("who").addEventListener("submit", e => { e.preventDefault(); connect() })
  $("add-form").addEventListener("submit", e => {
    e.preventDefault()
    const n = Number($("n").value)
    push("add", { n })
    get() // add has no reply: show the node's list, not a local guess
  })
  $("get").addEventListener("click", get)
  $("crash").addEventListener("click", () => push("oopsy", {}))
  $("leave").addEventListener("click", () => {
    log("info", "→ phx_leave: a normal end, so the node discards this state")
    channel.leave().receive("ok", () => log("ok", "← leave ok"))
  })
  $("rejoin").addEventListener("click", () => join($("topic").value.trim()))
  // A browser cannot drop TCP without a close frame; the nearest is what
  // phoenix.js itself does when its heartbeat goes unanswered, which the
  // node treats as a lost transport (the state is kept), and after which
  // phoenix.js reconnects and rejoins.
  $("drop").addEventListener("click", () => {
    log("warn", "dropping the connection (close \"heartbeat timeout\")")
    socket.conn.close(1000, "heartbeat timeout")
  })
  $("clear-log").addEventListener("click", () => $("log").replaceChildren())

  // Button and pill states follow the socket and the channel.
  function renderState() {
    const open = !!socket && socket.isConnected()
    const state = channel ? channel.state : "closed"
    $("socket-state").dataset.state = open ? "open" : "closed"
    $("socket-state").textContent = open ? "socket open" : "socket closed"
    $("channel-state").dataset.state = state
    $("channel-state").textContent = state
    const joined = open && state === "joined"
    for (const id of ["add", "get", "crash", "leave"]) $(id).disabled = !joined
    $("rejoin").disabled = !open || state !== "closed"
    $("drop").disabled = !open
  }
  setInterval(renderState, 200)

  // --- the node panel ------------------------------------------------------
  function setFigure(id, value) {
    const el = $(id)
    if (!el) return
    const text = value === undefined ? "–" : String(value)
    if (el.textContent !== text && el.textContent !== "–") {
      el.classList.remove("moved")
      void el.offsetWidth // restart the highlight animation
      el.classList.add("moved")
    }
    el.textContent = text
  }

  async function refreshNode() {
    try {
      const r = await fetch("/stats", { cache: "no-store" })
      if (!r.ok) throw new Error(`/stats answered ${r.status}`)
      const s = await r.json()
      for (const k of ["live_channels", "backups", "backup_bytes"]) setFigure("stat-" + k, s[k])
      setFigure("stat-connections_open", s.transport && s.transport.connections_open)
      for (const [k, v] of Object.entries(s.restores || {})) setFigure("stat-restores-" + k, v)
      for (const [k, v] of Object.entries(s.exits || {})) setFigure("stat-exits-" + k, v)
      $("node-error").hidden = !s.registry_error
      if (s.registry_error) $("node-error").textContent = "registry: " + s.registry_error
      $("node-updated").textContent = "updated " + new Date().toLocaleTimeString([], { hour12: false })
    } catch (e) {
      $("node-error").hidden = false
      $("node-error").textContent = String(e.message || e)
    }
  }
  refreshNode()
  setInterval(refreshNode, 1000)

  $("client-id").value = initialClientId()
  $("topic").value = params.get("topic") || "room:demo"
  renderNs([])
  if (typeof Phoenix === "undefined") {
    // The node answers /phoenix.js with why it is missing; say where to look.
    log("error", "phoenix.js did not load: open /phoenix.js to see why")
    return
  }
  connect()
  renderState()
})()
