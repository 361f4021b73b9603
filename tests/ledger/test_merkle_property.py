"""The Merkle code against a second, deliberately naive RFC 6962 implementation.

The reference below is RFC 6962 section 2.1 transcribed literally -- MTH, PATH, PROOF and
SUBPROOF as recursive functions on lists of leaf *data* -- and shares no code with
``tracefood.ledger.merkle``: it hashes with hashlib itself, splits with its own loop and never
looks at ranges, frontiers or stored nodes. Every tree size 1..N_MAX, every leaf index and
every pair of sizes is compared, first on the pure functions, then on a ledger built through
``Ledger.append_batch`` on both engines. Hypothesis then checks that proofs stop verifying when
one bit of one hash or the index changes, and when a size changes the shape of the proof (a
size that leaves the shape alone is, by RFC 9162's design, not caught by the proof: the signed
checkpoint vouches for the size).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import all_nodes
from tracefood.errors import ProofError
from tracefood.ledger import Ledger, NewEntry, db, merkle, tree

N_MAX = 100

# -- RFC 6962 section 2.1, literally ---------------------------------------------------------


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@cache
def ref_mth(d: tuple[bytes, ...]) -> bytes:
    """MTH(D[n])."""
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_proof(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    """PROOF(m, D[n])."""
    return ref_subproof(m, d, True)


def ref_subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def path_shape(m: int, n: int) -> tuple[str, ...] | None:
    """Where each PATH(m, D[n]) element sits: "L"eft or "R"ight sibling (None: no such proof)."""
    if not 0 <= m < n:
        return None
    if n == 1:
        return ()
    k = _k(n)
    if m < k:
        return (*(path_shape(m, k) or ()), "R")
    return (*(path_shape(m - k, n - k) or ()), "L")


def proof_shape(m: int, n: int, b: bool = True) -> tuple[str, ...] | None:
    """The same for SUBPROOF(m, D[n], b); "S" is MTH of the old tree's own right edge."""
    if not 0 < m <= n:
        return None
    if m == n:
        return () if b else ("S",)
    k = _k(n)
    if m <= k:
        return (*(proof_shape(m, k, b) or ()), "R")
    return (*(proof_shape(m - k, n - k, False) or ()), "L")


def test_reference__agrees_with_rfc_6962_example_tree_shape() -> None:
    # RFC 6962 2.1.3: in the 7-leaf example the audit path for d0 is [b, h, l] and the
    # consistency proof between the 6- and 7-leaf trees is [i, j, k] (here as MTH expressions).
    d = tuple(bytes([i]) for i in range(7))
    b, h, el = ref_mth(d[1:2]), ref_mth(d[2:4]), ref_mth(d[4:7])
    assert ref_path(0, d) == [b, h, el]
    i, j, k = ref_mth(d[4:6]), ref_mth(d[6:7]), ref_mth(d[0:4])
    assert ref_proof(6, d) == [i, j, k]
    assert ref_proof(4, d) == [el]
    assert ref_proof(3, d) == [ref_mth(d[2:3]), ref_mth(d[3:4]), ref_mth(d[0:2]), el]


# -- the pure functions ----------------------------------------------------------------------

DATA = tuple(f"leaf {i}".encode() for i in range(N_MAX))
LEAVES = [hashlib.sha256(b"\x00" + x).digest() for x in DATA]


NODES = all_nodes(LEAVES)


@pytest.mark.parametrize("n", range(1, N_MAX + 1))
def test_merkle__matches_reference_for_every_index_and_size(n: int) -> None:
    d = DATA[:n]
    root = ref_mth(d)
    assert merkle.leaf_hash(d[-1]) == LEAVES[n - 1]
    assert merkle.root_of(LEAVES[:n]) == root
    assert merkle.range_hash(0, n, NODES) == root
    for m in range(n):
        proof = merkle.hashes_for(merkle.inclusion_ranges(m, n), NODES)
        assert proof == ref_path(m, d), (m, n)
        merkle.verify_inclusion(m, n, LEAVES[m], proof, root)
    for m in range(1, n + 1):
        proof = merkle.hashes_for(merkle.consistency_ranges(m, n), NODES)
        assert proof == ref_proof(m, d), (m, n)
        merkle.verify_consistency(m, n, proof, ref_mth(d[:m]), root)


def test_merkle__empty_tree_root_and_no_proofs_from_it() -> None:
    assert merkle.root_of([]) == ref_mth(()) == merkle.EMPTY_ROOT
    with pytest.raises(ProofError):
        merkle.inclusion_ranges(0, 0)
    with pytest.raises(ProofError):
        merkle.consistency_ranges(0, 5)


# -- the stored tree, built through the public API -------------------------------------------


def batch_sizes(total: int) -> Iterator[int]:
    """1, 2, 3, ... so the frontier is reloaded from stored nodes at many different sizes."""
    size = 1
    while total > 0:
        yield min(size, total)
        total -= size
        size += 1


@pytest.fixture
def ledger_100(ledger: Ledger) -> Ledger:
    seq = 0
    for count in batch_sizes(N_MAX):
        ledger.append_batch([NewEntry({"n": seq + i}, entry_id=f"e-{seq + i}") for i in range(count)])
        seq += count
    return ledger


def test_ledger__stored_tree_matches_reference_for_every_index_and_size(ledger_100: Ledger) -> None:
    stored = [ledger_100.entry(i) for i in range(N_MAX)]
    bodies = tuple(e.body for e in stored)
    leaves = [e.leaf_hash for e in stored]
    assert leaves == [hashlib.sha256(b"\x00" + body).digest() for body in bodies]
    with db.read_snapshot(ledger_100.engine) as conn:
        assert tree.size(conn) == N_MAX
        for n in range(1, N_MAX + 1):
            d = bodies[:n]
            root = ref_mth(d)
            assert tree.root(conn, n) == root
            assert merkle.root_of(leaves[:n]) == root
            for m in range(n):
                leaf, proof, proof_root = tree.inclusion(conn, m, n)
                assert (leaf, proof, proof_root) == (leaves[m], ref_path(m, d), root), (m, n)
                merkle.verify_inclusion(m, n, leaf, proof, root)
            for m in range(1, n):
                proof, root1, root2 = tree.consistency(conn, m, n)
                assert (proof, root1, root2) == (ref_proof(m, d), ref_mth(d[:m]), root), (m, n)
                merkle.verify_consistency(m, n, proof, root1, root2)


def test_ledger__public_proofs_match_reference(ledger_100: Ledger) -> None:
    # The Ledger methods (one snapshot per call) on a sample of every shape: each size, the
    # first, middle and last index, and proofs from 1, the middle and the previous size.
    bodies = tuple(ledger_100.entry(i).body for i in range(N_MAX))
    for n in range(1, N_MAX + 1):
        d = bodies[:n]
        assert ledger_100.root(n) == (n, ref_mth(d))
        for m in sorted({0, n // 2, n - 1}):
            p = ledger_100.inclusion_proof(m, n)
            assert (p.index, p.size, p.path, p.root) == (m, n, ref_path(m, d), ref_mth(d))
        for m in sorted({1, max(1, n // 2), max(1, n - 1), n}):
            c = ledger_100.consistency_proof(m, n)
            assert (c.first, c.second, c.path) == (m, n, ref_proof(m, d))
            assert (c.first_root, c.second_root) == (ref_mth(d[:m]), ref_mth(d))
            merkle.verify_consistency(m, n, c.path, c.first_root, c.second_root)


# -- tampering with proofs -------------------------------------------------------------------


def flip(proof: list[bytes], element: int, bit: int) -> list[bytes]:
    changed = bytearray(proof[element])
    changed[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:element], bytes(changed), *proof[element + 1 :]]


@st.composite
def inclusion_case(draw: st.DrawFn) -> tuple[int, int, list[bytes]]:
    n = draw(st.integers(2, N_MAX))
    m = draw(st.integers(0, n - 1))
    return m, n, ref_path(m, DATA[:n])


@st.composite
def consistency_case(draw: st.DrawFn) -> tuple[int, int, list[bytes]]:
    n = draw(st.integers(2, N_MAX))
    m = draw(st.integers(1, n - 1))
    return m, n, ref_proof(m, DATA[:n])


BIT = st.integers(0, 8 * merkle.HASH_SIZE - 1)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(case=inclusion_case(), data=st.data(), bit=BIT)
def test_verify_inclusion__any_flipped_bit_fails(
    case: tuple[int, int, list[bytes]], data: st.DataObject, bit: int
) -> None:
    m, n, proof = case
    root = ref_mth(DATA[:n])
    merkle.verify_inclusion(m, n, LEAVES[m], proof, root)
    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    with pytest.raises(ProofError):
        merkle.verify_inclusion(m, n, LEAVES[m], flip(proof, element, bit), root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(m, n, flip([LEAVES[m]], 0, bit)[0], proof, root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(m, n, LEAVES[m], proof, flip([root], 0, bit)[0])


@SETTINGS
@given(case=inclusion_case(), data=st.data())
def test_verify_inclusion__another_index_or_size_fails(case: tuple[int, int, list[bytes]], data: st.DataObject) -> None:
    m, n, proof = case
    root = ref_mth(DATA[:n])
    other_index = data.draw(st.integers(-1, 2 * N_MAX).filter(lambda i: i != m), label="index")
    other_size = data.draw(st.integers(0, 2 * N_MAX).filter(lambda s: s != n), label="size")
    with pytest.raises(ProofError):
        merkle.verify_inclusion(other_index, n, LEAVES[m], proof, root)
    # An RFC 9162 inclusion proof binds the index, but the size only as far as it shapes the
    # path: the proof for leaf 0 of 33 leaves also "verifies" at size 34 (the signed checkpoint,
    # not the proof, vouches for the size). So: another size fails iff it changes the shape.
    if path_shape(m, other_size) == path_shape(m, n):
        merkle.verify_inclusion(m, other_size, LEAVES[m], proof, root)
    else:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(m, other_size, LEAVES[m], proof, root)


@SETTINGS
@given(case=consistency_case(), data=st.data(), bit=BIT)
def test_verify_consistency__any_flipped_bit_fails(
    case: tuple[int, int, list[bytes]], data: st.DataObject, bit: int
) -> None:
    m, n, proof = case
    root1, root2 = ref_mth(DATA[:m]), ref_mth(DATA[:n])
    merkle.verify_consistency(m, n, proof, root1, root2)
    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    with pytest.raises(ProofError):
        merkle.verify_consistency(m, n, flip(proof, element, bit), root1, root2)
    with pytest.raises(ProofError):
        merkle.verify_consistency(m, n, proof, flip([root1], 0, bit)[0], root2)
    with pytest.raises(ProofError):
        merkle.verify_consistency(m, n, proof, root1, flip([root2], 0, bit)[0])


@SETTINGS
@given(case=consistency_case(), data=st.data())
def test_verify_consistency__another_size_fails(case: tuple[int, int, list[bytes]], data: st.DataObject) -> None:
    m, n, proof = case
    root1, root2 = ref_mth(DATA[:m]), ref_mth(DATA[:n])
    other_first = data.draw(st.integers(0, 2 * N_MAX).filter(lambda s: s != m), label="size1")
    other_second = data.draw(st.integers(0, 2 * N_MAX).filter(lambda s: s != n), label="size2")
    # As for inclusion, a size only counts through the shape of the proof it implies.
    for first, second in ((other_first, n), (m, other_second)):
        if proof_shape(first, second) == proof_shape(m, n):
            merkle.verify_consistency(first, second, proof, root1, root2)
        else:
            with pytest.raises(ProofError):
                merkle.verify_consistency(first, second, proof, root1, root2)


def test_verify__size_is_bound_only_through_the_proof_shape() -> None:
    # The two examples hypothesis found first, pinned: documented RFC 9162 behaviour.
    root = ref_mth(DATA[:33])
    merkle.verify_inclusion(0, 34, LEAVES[0], ref_path(0, DATA[:33]), root)
    merkle.verify_consistency(1, 34, ref_proof(1, DATA[:33]), ref_mth(DATA[:1]), root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(0, 65, LEAVES[0], ref_path(0, DATA[:33]), root)
