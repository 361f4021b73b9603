/* TraceFood label page: checks the label's signature in the page (WebCrypto Ed25519 against
   /.well-known/jwks.json), asks the server for its verdict, and checks that every event shown is
   in the signed checkpoint (RFC 9162 inclusion proofs, SHA-256 in the page). No dependencies. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("label-data").textContent);
  var T = data.text;
  var enc = new TextEncoder();
  var subtle = window.crypto && window.crypto.subtle;

  function b64urlBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    return b64Bytes(b64);
  }
  function b64Bytes(b64) {
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function concat(parts) {
    var n = 0, i, off = 0;
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    var out = new Uint8Array(n);
    for (i = 0; i < parts.length; i++) { out.set(parts[i], off); off += parts[i].length; }
    return out;
  }
  function sha256(bytes) {
    return subtle.digest("SHA-256", bytes).then(function (d) { return new Uint8Array(d); });
  }
  function setCheck(id, state, text) {
    var el = document.querySelector("#" + id + " .check-result");
    el.setAttribute("data-state", state);
    el.textContent = text;
  }

  // -- the signature, checked here ------------------------------------------------------------
  function localCheck() {
    var href = window.location.href;
    var hash = href.indexOf("#");
    if (hash < 0 || hash === href.length - 1) return Promise.resolve({ state: "failed", reason: "unsigned" });
    var fragment = href.slice(hash + 1).split(".");
    if (fragment[0] !== "1") return Promise.resolve({ state: "failed", reason: "unknown_version" });
    if (fragment.length !== 3 || fragment[1].length !== 12) return Promise.resolve({ state: "failed", reason: "malformed_signature" });
    if (!subtle) return Promise.resolve({ state: "unavailable", text: T.insecure });
    var message = enc.encode(href.slice(0, href.lastIndexOf(".") + 1));
    var signature;
    try { signature = b64urlBytes(fragment[2]); } catch (e) { return Promise.resolve({ state: "failed", reason: "malformed_signature" }); }
    if (signature.length !== 64) {
      return Promise.resolve({ state: "failed", reason: signature.length < 64 ? "truncated_signature" : "extra_characters" });
    }
    return fetch("/.well-known/jwks.json", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (jwks) {
        var jwk = null;
        for (var i = 0; i < jwks.keys.length; i++) if (jwks.keys[i].kid === fragment[1]) jwk = jwks.keys[i];
        if (!jwk) return { state: "failed", text: T.unknown_key_local };
        return subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"])
          .then(function (key) { return subtle.verify({ name: "Ed25519" }, key, signature, message); })
          .then(function (ok) {
            return ok ? { state: "ok", text: T.ok + " — " + T.signed_by.replace("{party}", jwk.tf_party_name || jwk.tf_party) }
                      : { state: "failed", reason: "bad_signature" };
          });
      })
      .catch(function (e) { return { state: "unavailable", text: T.unavailable + " (" + e.name + ")" }; });
  }

  // -- the server's verdict -----------------------------------------------------------------------
  function serverCheck() {
    return fetch("/api/v1/labels/verify", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ url: window.location.href })
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (v) {
      if (v.genuine) return { state: "ok", verdict: v, text: T.ok + " — " + T.signed_by.replace("{party}", v.issuer.name) };
      return { state: "failed", verdict: v, reason: v.reason, detail: v.detail };
    }).catch(function (e) { return { state: "unavailable", text: T.unavailable + " (" + e.message + ")" }; });
  }

  function describe(result) {
    if (result.text) return result.text;
    var text = T.failed + " — " + (data.reasons[result.reason] || result.reason);
    return result.detail ? text + " (" + result.detail + ")" : text;
  }

  Promise.all([localCheck(), serverCheck()]).then(function (results) {
    var local = results[0], server = results[1];
    setCheck("check-local", local.state, describe(local));
    setCheck("check-server", server.state, describe(server));
    var box = document.getElementById("verdict");
    var title = document.getElementById("verdict-title");
    var detail = document.getElementById("verdict-detail");
    var refused = local.state === "failed" || server.state === "failed";
    var verified = server.state === "ok" && local.state !== "failed";
    box.classList.remove("verdict-pending");
    if (refused) {
      box.classList.add("verdict-refused");
      title.textContent = T.refused;
      var first = server.state === "failed" ? server : local;
      detail.textContent = describe(first).replace(T.failed + " — ", "");
      if (server.state === "ok" && local.state === "failed") detail.textContent += " " + T.disagree;
    } else if (verified) {
      var status = server.verdict && server.verdict.status;
      box.classList.add(status === "recalled" ? "verdict-recalled" : status === "on_hold" ? "verdict-hold" : "verdict-ok");
      title.textContent = status === "recalled" ? T.recalled : status === "on_hold" ? T.on_hold : T.genuine;
      detail.textContent = T.signed_by.replace("{party}", server.verdict.issuer.name);
    } else {
      box.classList.add("verdict-unknown");
      title.textContent = T.unavailable;
    }
    box.setAttribute("data-verdict", refused ? "refused" : verified ? "genuine" : "unknown");
  });

  // -- every event shown is in the signed checkpoint ------------------------------------------------
  function verifyInclusion(index, size, leaf, path, root) {
    // RFC 9162 section 2.1.3.2
    if (index >= size) return Promise.resolve(false);
    var fn = index, sn = size - 1, r = leaf, i = 0;
    function step() {
      if (i === path.length) return Promise.resolve(sn === 0 && equal(r, root));
      var p = path[i++];
      if (sn === 0) return Promise.resolve(false);
      var next;
      if ((fn & 1) === 1 || fn === sn) {
        next = sha256(concat([new Uint8Array([1]), p, r])).then(function (h) {
          r = h;
          if ((fn & 1) === 0) while ((fn & 1) === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        });
      } else {
        next = sha256(concat([new Uint8Array([1]), r, p])).then(function (h) { r = h; });
      }
      return next.then(function () { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); return step(); });
    }
    return step();
  }

  if (!data.checkpoint) return;  // an unknown lot: no history to prove

  // The checkpoint is a C2SP signed note: its body, a blank line, "— <name> <base64(key id || sig)>".
  // The ledger key is fetched from this server: compare its id with one you hold to be sure.
  function checkNote(note) {
    var split = note.indexOf("\n\n");
    var body = note.slice(0, split + 1);
    var sigs = note.slice(split + 2).split("\n").filter(function (l) { return l.indexOf("\u2014 ") === 0; });
    return fetch("/api/v1/ledger/key").then(function (r) { return r.text(); }).then(function (text) {
      var trimmed = text.trim(), one = trimmed.indexOf("+"), two = trimmed.indexOf("+", one + 1);
      var parts = [trimmed.slice(0, one), trimmed.slice(one + 1, two), trimmed.slice(two + 1)];  // base64 may hold "+"
      var raw = b64Bytes(parts[2]);
      if (parts.length !== 3 || raw.length !== 33 || raw[0] !== 1) return null;
      var keyId = parts[1];
      var sig = null;
      sigs.forEach(function (line) {
        var words = line.slice(2).split(" ");
        var bytes = b64Bytes(words[1]);
        var hex = Array.prototype.map.call(bytes.slice(0, 4), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
        if (words[0] === parts[0] && hex === keyId) sig = bytes.slice(4);
      });
      if (!sig) return null;
      return subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"])
        .then(function (key) { return subtle.verify({ name: "Ed25519" }, key, sig, enc.encode(body)); })
        .then(function (ok) { return ok ? parts[0] + "+" + keyId : null; });
    });
  }

  var lines = data.checkpoint.split("\n");
  var size = parseInt(lines[1], 10);
  var root = b64Bytes(lines[2]);
  var events = document.querySelectorAll("li.event[data-seq]");
  var proven = 0;
  function proofOf(li) {
    var seq = parseInt(li.getAttribute("data-seq"), 10);
    var out = li.querySelector(".proof-result");
    if (!subtle) { out.setAttribute("data-state", "unavailable"); out.textContent = T.insecure; return Promise.resolve(); }
    return Promise.all([
      fetch("/api/v1/ledger/entries/" + seq).then(function (r) { return r.json(); }),
      fetch("/api/v1/ledger/proofs/inclusion?index=" + seq + "&size=" + size).then(function (r) { return r.json(); })
    ]).then(function (both) {
      var entry = both[0], proof = both[1];
      if (entry.entry_id !== li.getAttribute("data-entry")) return false;  // the entry is the event shown
      // the public gets hashes, not payloads: with the bytes (a token that may read them) the
      // leaf is hashed here, else the entry's leaf hash is the one the proof must reach
      var leafOf = entry.body ? sha256(concat([new Uint8Array([0]), b64Bytes(entry.body)]))
        : Promise.resolve(b64Bytes(entry.leaf_hash));
      return leafOf.then(function (leaf) {
        if (!equal(leaf, b64Bytes(proof.leaf_hash))) return false;
        return verifyInclusion(seq, size, leaf, proof.proof.map(b64Bytes), root);
      });
    }).then(function (ok) {
      out.setAttribute("data-state", ok ? "ok" : "failed");
      out.textContent = ok ? T.proof_ok : T.failed;
      if (ok) proven++;
    }).catch(function (e) { out.setAttribute("data-state", "unavailable"); out.textContent = T.unavailable; });
  }
  var sigOut = document.getElementById("checkpoint-signature");
  var signed = subtle ? checkNote(data.checkpoint).catch(function () { return null; }) : Promise.resolve(undefined);
  signed.then(function (key) {
    if (key === undefined) {
      sigOut.setAttribute("data-state", "unavailable");
      sigOut.textContent = T.insecure;
      Array.prototype.forEach.call(events, proofOf);  // each says it cannot be checked here
      return;
    }
    sigOut.setAttribute("data-state", key ? "ok" : "failed");
    sigOut.textContent = key ? T.sig_ok.replace("{key}", key) : T.sig_failed;
    if (!key) return;  // proofs against an unsigned root prove nothing
    return Promise.all(Array.prototype.map.call(events, proofOf)).then(function () {
      document.getElementById("proof-summary").textContent =
        T.proof_summary.replace("{proven}", proven).replace("{total}", events.length);
    });
  });
})();
