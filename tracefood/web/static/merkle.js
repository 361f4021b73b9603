/* TraceFood: RFC 9162 Merkle proof verification in the browser (SHA-256 through WebCrypto).
   Written for this project, no dependencies; checked against the transparency-dev and CCTV
   vectors in tests/vectors/merkle (tests/web/test_scan_checkpoint.py). Sizes and indexes are
   plain numbers (exact below 2**53); halving uses Math.floor, never the 32-bit "&" and ">>".

   window.TraceFoodMerkle.verifyInclusion(index, size, leafHash, path, root)  -> Promise<boolean>
   window.TraceFoodMerkle.verifyConsistency(size1, size2, root1, root2, path)  -> Promise<boolean>
   Hashes are Uint8Array. A proof from the empty tree is refused, as the server's verifier does
   (tracefood/ledger/merkle.py): it proves nothing. */
(function (global) {
  "use strict";
  var HASH = 32;

  function sha256(bytes) {
    return global.crypto.subtle.digest("SHA-256", bytes).then(function (d) { return new Uint8Array(d); });
  }
  function node(left, right) {
    var out = new Uint8Array(1 + left.length + right.length);
    out[0] = 1;
    out.set(left, 1);
    out.set(right, 1 + left.length);
    return sha256(out);
  }
  function equal(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  function odd(n) { return n % 2 === 1; }
  function half(n) { return Math.floor(n / 2); }
  function whole(n) { return typeof n === "number" && Number.isSafeInteger(n) && n >= 0; }
  function hashes(list) {
    if (!list) return true;
    for (var i = 0; i < list.length; i++) if (!(list[i] instanceof Uint8Array) || list[i].length !== HASH) return false;
    return true;
  }
  function isPowerOfTwo(n) {
    while (n > 1 && !odd(n)) n = half(n);
    return n === 1;
  }

  // RFC 9162 section 2.1.3.2
  function verifyInclusion(index, size, leaf, path, root) {
    path = path || [];
    if (!whole(index) || !whole(size) || index >= size || !hashes(path) || !hashes([leaf, root])) return Promise.resolve(false);
    var fn = index, sn = size - 1, r = leaf, i = 0;
    function step() {
      if (i === path.length) return Promise.resolve(sn === 0 && equal(r, root));
      var p = path[i++];
      if (sn === 0) return Promise.resolve(false);
      var next;
      if (odd(fn) || fn === sn) {
        next = node(p, r).then(function (h) {
          r = h;
          while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
        });
      } else {
        next = node(r, p).then(function (h) { r = h; });
      }
      return next.then(function () { fn = half(fn); sn = half(sn); return step(); });
    }
    return step();
  }

  // RFC 9162 section 2.1.4.2
  function verifyConsistency(size1, size2, root1, root2, path) {
    path = path || [];
    if (!whole(size1) || !whole(size2) || size1 > size2 || size1 === 0) return Promise.resolve(false);
    if (size1 === size2) return Promise.resolve(path.length === 0 && equal(root1, root2));
    if (!hashes(path) || !hashes([root1, root2])) return Promise.resolve(false);
    if (path.length === 0) return Promise.resolve(false);
    var c = isPowerOfTwo(size1) ? [root1].concat(path) : path.slice();
    var fn = size1 - 1, sn = size2 - 1;
    while (odd(fn)) { fn = half(fn); sn = half(sn); }
    var fr = c[0], sr = c[0], i = 1;
    function step() {
      if (i === c.length) return Promise.resolve(sn === 0 && equal(fr, root1) && equal(sr, root2));
      var h = c[i++];
      if (sn === 0) return Promise.resolve(false);
      var next;
      if (odd(fn) || fn === sn) {
        next = Promise.all([node(h, fr), node(h, sr)]).then(function (both) {
          fr = both[0];
          sr = both[1];
          if (!odd(fn)) while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
        });
      } else {
        next = node(sr, h).then(function (x) { sr = x; });
      }
      return next.then(function () { fn = half(fn); sn = half(sn); return step(); });
    }
    return step();
  }

  global.TraceFoodMerkle = { sha256: sha256, equal: equal, verifyInclusion: verifyInclusion, verifyConsistency: verifyConsistency };
})(window);
