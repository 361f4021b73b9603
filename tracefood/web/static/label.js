/* TraceFood label page: checks the label's signature in the page (WebCrypto Ed25519 against
   /.well-known/jwks.json), asks the server for its verdict, and checks that every event shown is
   in the signed checkpoint (RFC 9162 inclusion proofs, SHA-256 in the page), and that the
   ledger's history is consistent with the largest checkpoint this device verified before
   (RFC 9162 consistency proofs; merkle.js). No dependencies. */
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

  // -- the ledger's history: signed, and consistent with what this device saw before ----------
  // The page keeps, per ledger (its origin line and key), the largest checkpoint it verified, in
  // localStorage. A server presenting the same size must present the same root; a larger or a
  // smaller one must prove, with an RFC 9162 consistency proof checked here, that one tree
  // extends the other. A server that rewrote and re-signed its history cannot, and the page
  // refuses. What it remembers lives on this device only: a first scan (or cleared site data)
  // starts from whatever the server shows.
  var Merkle = window.TraceFoodMerkle;
  var MEMORY = "tracefood.checkpoint:";

  function parseCheckpoint(note) {
    var lines = note.split("\n"), root = null;
    try { root = b64Bytes(lines[2] || ""); } catch (e) { root = null; }
    var size = /^[0-9]{1,15}$/.test(lines[1] || "") ? parseInt(lines[1], 10) : NaN;
    return { origin: lines[0], size: size, root: root, note: note };
  }

  // The checkpoint is a C2SP signed note: its body, a blank line, "— <name> <base64(key id || sig)>".
  // The ledger key is fetched from this server: compare its id with one you hold to be sure.
  // Resolves {id: "name+keyid", ok: true | false | undefined (Ed25519 not in this browser)}.
  function checkNote(note) {
    var split = note.indexOf("\n\n");
    var body = note.slice(0, split + 1);
    var sigs = note.slice(split + 2).split("\n").filter(function (l) { return l.indexOf("\u2014 ") === 0; });
    return fetch("/api/v1/ledger/key").then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (text) {
      var trimmed = text.trim(), one = trimmed.indexOf("+"), two = trimmed.indexOf("+", one + 1);
      var name = trimmed.slice(0, one), keyId = trimmed.slice(one + 1, two), raw, sig = null;
      try { raw = b64Bytes(trimmed.slice(two + 1)); } catch (e) { raw = null; }
      if (split < 0 || one < 1 || two < 0 || !raw || raw.length !== 33 || raw[0] !== 1) return { id: null, ok: false };
      var id = name + "+" + keyId;
      sigs.forEach(function (line) {
        var words = line.slice(2).split(" "), bytes;
        try { bytes = b64Bytes(words[1] || ""); } catch (e) { return; }
        var hex = Array.prototype.map.call(bytes.slice(0, 4), function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
        if (words[0] === name && hex === keyId) sig = bytes.slice(4);
      });
      if (!sig) return { id: id, ok: false };
      return subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]).then(function (key) {
        return subtle.verify({ name: "Ed25519" }, key, sig, enc.encode(body)).then(function (ok) { return { id: id, ok: ok }; });
      }, function (e) {
        if (e && e.name === "NotSupportedError") return { id: id, ok: undefined };  // an older browser
        throw e;
      });
    });
  }

  function memory() {
    try { var store = window.localStorage; store.getItem(MEMORY); return store; } catch (e) { return null; }
  }
  function recall(store, slot) {
    try {
      var seen = JSON.parse(store.getItem(slot));
      if (!seen || !Number.isSafeInteger(seen.size) || seen.size < 1) return null;
      var root = b64Bytes(seen.root);
      return root.length === 32 ? { size: seen.size, root: root, note: seen.note } : null;
    } catch (e) { return null; }
  }
  function remember(store, slot, cp) {
    var root = btoa(String.fromCharCode.apply(null, cp.root));
    try { store.setItem(slot, JSON.stringify({ size: cp.size, root: root, note: cp.note, seen_at: new Date().toISOString() })); } catch (e) { /* full or refused */ }
  }
  function otherKey(store, prefix, slot) {
    for (var i = 0; i < store.length; i++) {
      var name = store.key(i);
      if (name && name !== slot && name.indexOf(prefix) === 0) return true;
    }
    return false;
  }
  function rewritten(seen, cp) {
    return { state: "failed", rewritten: true, text: T.failed + " — " + T.history_rewritten,
             detail: T.history_seen.replace("{seen}", seen.size).replace("{size}", cp.size) };
  }

  function checkHistory(cp, signed) {
    if (signed.ok === false) return { state: "failed", text: T.sig_failed };
    var store = memory();
    if (!store) return { state: "unsupported", text: T.history_no_memory };
    var slot = MEMORY + cp.origin + " " + signed.id;
    var seen = recall(store, slot);
    if (!seen && otherKey(store, MEMORY + cp.origin + " ", slot)) {
      // TraceFood never changes a ledger's key: the same ledger name under another key is another
      // ledger, whose history cannot be compared with the one this device saw. Nothing is remembered.
      return { state: "failed", rewritten: true, reason: "key", text: T.failed + " — " + T.history_key_changed, detail: "" };
    }
    if (!seen) {
      remember(store, slot, cp);
      return { state: "ok", text: T.history_first.replace("{size}", cp.size) };
    }
    if (seen.size === cp.size) {
      return Merkle.equal(seen.root, cp.root) ? { state: "ok", text: T.history_same.replace("{size}", cp.size) } : rewritten(seen, cp);
    }
    var grew = cp.size > seen.size, first = grew ? seen : cp, second = grew ? cp : seen;
    return fetch("/api/v1/ledger/proofs/consistency?from=" + first.size + "&to=" + second.size, { headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status >= 500 || r.status === 429) throw new Error("HTTP " + r.status);
        return r.ok ? r.json() : null;  // a server that will not prove its own history fails
      })
      .then(function (proof) {
        if (!proof || proof.from !== first.size || proof.to !== second.size || !Array.isArray(proof.proof)) return false;
        var path;
        try { path = proof.proof.map(b64Bytes); } catch (e) { return false; }
        return Merkle.verifyConsistency(first.size, second.size, first.root, second.root, path);
      })
      .then(function (ok) {
        if (!ok) return rewritten(seen, cp);
        if (grew) remember(store, slot, cp);
        return { state: "ok", text: (grew ? T.history_grew : T.history_older).replace("{seen}", seen.size).replace("{size}", cp.size) };
      }, function (e) { return { state: "unavailable", text: T.unavailable + " (" + e.message + ")" }; });
  }

  var cp = data.checkpoint ? parseCheckpoint(data.checkpoint) : null;
  var signed;
  if (!cp) signed = Promise.resolve(null);  // an unknown lot: no history to prove
  else if (!subtle) signed = Promise.resolve({ id: null, ok: undefined, insecure: true });
  else if (!(cp.size >= 1) || !cp.root || cp.root.length !== 32) signed = Promise.resolve({ id: null, ok: false });
  else signed = checkNote(data.checkpoint);
  var history = signed.then(function (s) {
    if (!s) return { state: "none" };
    if (s.insecure) return { state: "unsupported", text: T.insecure };
    return checkHistory(cp, s);
  }, function (e) { return { state: "unavailable", text: T.unavailable + " (" + e.message + ")" }; });

  // -- the verdict: the label's signature, the server's verdict and the ledger's history --------
  Promise.all([localCheck(), serverCheck(), history]).then(function (results) {
    var local = results[0], server = results[1], hist = results[2];
    setCheck("check-local", local.state, describe(local));
    setCheck("check-server", server.state, describe(server));
    if (hist.state !== "none") setCheck("check-history", hist.state === "unsupported" ? "unavailable" : hist.state, hist.text);
    var box = document.getElementById("verdict");
    var title = document.getElementById("verdict-title");
    var detail = document.getElementById("verdict-detail");
    var refused = local.state === "failed" || server.state === "failed" || hist.state === "failed";
    // A server that cannot prove its history (network error, 5xx) gets no "genuine" either.
    var verified = server.state === "ok" && local.state !== "failed" && hist.state !== "unavailable";
    box.classList.remove("verdict-pending");
    if (refused && hist.state === "failed") {
      box.classList.add("verdict-refused");
      box.setAttribute("data-reason", hist.reason || (hist.rewritten ? "history" : "checkpoint"));
      title.textContent = hist.rewritten ? T.history_title : T.refused;
      detail.textContent = hist.reason === "key" ? T.history_key_changed
        : hist.rewritten ? T.history_rewritten + " " + hist.detail : T.sig_failed;
    } else if (refused) {
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
  if (!cp) return;
  var events = document.querySelectorAll("li.event[data-seq]");
  var proven = 0;
  function proofOf(li) {
    var seq = parseInt(li.getAttribute("data-seq"), 10);
    var out = li.querySelector(".proof-result");
    if (!subtle) { out.setAttribute("data-state", "unavailable"); out.textContent = T.insecure; return Promise.resolve(); }
    return Promise.all([
      fetch("/api/v1/ledger/entries/" + seq).then(function (r) { return r.json(); }),
      fetch("/api/v1/ledger/proofs/inclusion?index=" + seq + "&size=" + cp.size).then(function (r) { return r.json(); })
    ]).then(function (both) {
      var entry = both[0], proof = both[1];
      if (entry.entry_id !== li.getAttribute("data-entry")) return false;  // the entry is the event shown
      // the public gets hashes, not payloads: with the bytes (a token that may read them) the
      // leaf is hashed here, else the entry's leaf hash is the one the proof must reach
      var leafOf = entry.body ? Merkle.sha256(concat([new Uint8Array([0]), b64Bytes(entry.body)]))
        : Promise.resolve(b64Bytes(entry.leaf_hash));
      return leafOf.then(function (leaf) {
        if (!equal(leaf, b64Bytes(proof.leaf_hash))) return false;
        return Merkle.verifyInclusion(seq, cp.size, leaf, proof.proof.map(b64Bytes), cp.root);
      });
    }).then(function (ok) {
      out.setAttribute("data-state", ok ? "ok" : "failed");
      out.textContent = ok ? T.proof_ok : T.failed;
      if (ok) proven++;
    }).catch(function () { out.setAttribute("data-state", "unavailable"); out.textContent = T.unavailable; });
  }
  var sigOut = document.getElementById("checkpoint-signature");
  signed.then(function (s) {
    if (s.ok === undefined) {  // no WebCrypto here (plain HTTP), or no Ed25519 in this browser
      sigOut.setAttribute("data-state", "unavailable");
      sigOut.textContent = s.insecure ? T.insecure : T.sig_unsupported;
    } else {
      sigOut.setAttribute("data-state", s.ok ? "ok" : "failed");
      sigOut.textContent = s.ok ? T.sig_ok.replace("{key}", s.id) : T.sig_failed;
      if (!s.ok) return;  // proofs against an unsigned root prove nothing
    }
    return Promise.all(Array.prototype.map.call(events, proofOf)).then(function () {
      if (subtle) document.getElementById("proof-summary").textContent =
        T.proof_summary.replace("{proven}", proven).replace("{total}", events.length);
    });
  }, function () { sigOut.setAttribute("data-state", "unavailable"); sigOut.textContent = T.unavailable; });
})();
