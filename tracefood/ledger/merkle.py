"""RFC 6962 / RFC 9162 Merkle tree arithmetic: hashing, proofs as ranges, proof verification.

Pure functions, no I/O. Storage works in *perfect subtrees*: the node at ``(level, index)``
covers leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 is the leaf hash itself.
Every subtree hash that RFC 9162 proofs need is either such a perfect node or the hash of a
right-edge range, which decomposes into O(log n) perfect nodes (:func:`perfect_pieces`). So a
store that keeps every perfect node answers any proof with O(log n) reads.

Empty-tree policy for consistency proofs: a proof from size 0 proves nothing (every tree
"extends" the empty one), so :func:`verify_consistency` rejects ``size1 == 0`` like
transparency-dev/merkle and RFC 9162 (which defines proofs for ``0 < m``). The CCTV vector set
accepts it; the tests list those cases as rejected by this policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from tracefood.errors import ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Coord = tuple[int, int]
"""A perfect subtree: ``(level, index)``."""

Range = tuple[int, int]
"""A half-open range of leaf indexes ``[start, end)``."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_pieces(start: int, end: int) -> list[Coord]:
    """Decompose ``[start, end)`` into perfect subtrees, left to right, as RFC 6962 splits it."""
    pieces: list[Coord] = []
    while start < end:
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:
            level = size.bit_length() - 1
            pieces.append((level, start >> level))
            break
        k = split_point(size)
        level = k.bit_length() - 1
        pieces.append((level, start >> level))
        start += k
    return pieces


def fold_pieces(hashes: Sequence[bytes]) -> bytes:
    """Hash of a range from its perfect pieces (largest first): fold right to left."""
    acc = hashes[-1]
    for piece in reversed(hashes[:-1]):
        acc = node_hash(piece, acc)
    return acc


def range_hash(start: int, end: int, lookup: Mapping[Coord, bytes]) -> bytes:
    """MTH(D[start:end]) from stored perfect nodes."""
    if start == end:
        return EMPTY_ROOT
    return fold_pieces([lookup[c] for c in perfect_pieces(start, end)])


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes form PATH(index, D[0:size]), in RFC 9162 order (leaf first)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """The subtrees whose hashes form PROOF(size1, D[0:size2]) (RFC 9162 2.1.4.1 order)."""
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    ranges: list[Range] = []
    start, end, m, complete = 0, size2, size1, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                ranges.append((start, end))
            break
        k = split_point(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    ranges.reverse()
    return ranges


def pieces_for(ranges: Sequence[Range]) -> set[Coord]:
    """Every perfect node needed to hash ``ranges``."""
    return {c for a, b in ranges for c in perfect_pieces(a, b)}


def hashes_for(ranges: Sequence[Range], lookup: Mapping[Coord, bytes]) -> list[bytes]:
    return [range_hash(a, b, lookup) for a, b in ranges]


class Frontier:
    """The right edge of a growing tree: one perfect subtree per set bit of the size.

    ``append`` returns every perfect node the new leaf completes, so a writer stores exactly
    the nodes that exist and never recomputes old ones.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        self.size = size
        self.hashes = list(hashes)  # perfect pieces of [0, size), largest first
        if len(self.hashes) != bin(size).count("1"):
            raise ValueError("frontier does not match the tree size")

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; return the completed interior nodes as ``(level, index, hash)``."""
        created: list[tuple[int, int, bytes]] = []
        index = self.size
        acc, level = leaf, 0
        while index & 1:
            acc = node_hash(self.hashes.pop(), acc)
            index >>= 1
            level += 1
            created.append((level, index, acc))
        self.hashes.append(acc)
        self.size += 1
        return created

    def root(self) -> bytes:
        return fold_pieces(self.hashes) if self.hashes else EMPTY_ROOT


def root_of(leaves: Sequence[bytes]) -> bytes:
    """Root hash of a tree given its leaf hashes (used by the verifier and tests)."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, expected {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 2.1.3.2: the root implied by an inclusion proof."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    _check_hash("leaf hash", leaf)
    fn, sn, r = index, size - 1, leaf
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short for the tree size")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows leaf ``index`` in the tree ``root``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError("inclusion proof does not lead to the given root")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Raise :class:`ProofError` unless ``proof`` shows tree ``root2`` extends ``root1``."""
    if size2 < size1:
        raise ProofError(f"size1 {size1} is larger than size2 {size2}")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing (policy)")
    if size1 == size2:
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        if root1 != root2:
            raise ProofError("sizes are equal but the roots differ")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the second root")
