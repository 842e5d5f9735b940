// Mints HS256 tokens the way another backend would: Node's crypto, nothing
// else. The README's Security section quotes mintToken's five body lines.
"use strict"
const crypto = require("node:crypto")

/// A token for client `sub`, valid `ttl` seconds, signed with `secret`.
/// `extra` claims (e.g. {topics: ["room:1"]}) are added; they may override
/// iat/exp to build expired or not-yet-valid tokens.
function mintToken(secret, sub, ttl = 3600, extra = {}) {
  const b64 = o => Buffer.from(JSON.stringify(o)).toString("base64url")
  const now = Math.floor(Date.now() / 1000)
  const body = b64({ alg: "HS256", typ: "JWT" }) + "." + b64({ sub, iat: now, exp: now + ttl, ...extra })
  return body + "." + crypto.createHmac("sha256", secret).update(body).digest("base64url")
}

/// A token with any header, signed with `secret` (or with no signature).
function forgeToken(header, claims, secret = null) {
  const b64 = o => Buffer.from(JSON.stringify(o)).toString("base64url")
  const body = b64(header) + "." + b64(claims)
  const sig = secret ? crypto.createHmac("sha256", secret).update(body).digest("base64url") : ""
  return body + "." + sig
}

module.exports = { mintToken, forgeToken }
