"""RFC 6962 / RFC 9162 Merkle code against vectors that nobody on this team wrote.

* transparency-dev/merkle: every inclusion and consistency probe file, valid or not, and the
  tree heads of sizes 0..8 over its eight leaf inputs;
* rgdd/CCTV: a second, independent set of valid and invalid proofs over leaves "a".."p";
* Google's Argon 2020 Certificate Transparency log: a real signed tree head of 961,984,013
  entries with an inclusion proof and a consistency proof (as used by golang/mod sumdb/tlog).

The happy-path transparency-dev proofs are also rebuilt from the leaves, once with the pure
functions and once from a tree stored in the database on both engines, and must come out
byte for byte as the vectors have them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from sqlalchemy import Connection, insert

from tests.conftest import VECTORS, all_nodes
from tracefood.errors import ProofError
from tracefood.ledger import db, merkle, tree
from tracefood.ledger.models import entries

TD = VECTORS / "merkle" / "transparency-dev"
CCTV = VECTORS / "merkle" / "cctv"
ARGON = VECTORS / "merkle" / "argon2020"


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def b64s(texts: list[str] | None) -> list[bytes]:
    """A list of base64 hashes; transparency-dev writes an empty proof as null."""
    return [b64(t) for t in texts or []]


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def td_files(kind: str) -> list[Path]:
    return sorted((TD / kind).rglob("*.json"))


def td_id(path: Path) -> str:
    return path.relative_to(TD).with_suffix("").as_posix()


INCLUSION_FILES = td_files("inclusion")
CONSISTENCY_FILES = td_files("consistency")
LEAVES_AND_ROOTS = load(TD / "leaves-and-roots.json")
TD_INPUTS = [bytes.fromhex(h) for h in LEAVES_AND_ROOTS["leaf_inputs_hex"]]
TD_ROOTS = [bytes.fromhex(h) for h in LEAVES_AND_ROOTS["root_hashes_hex_by_size"]]
TD_LEAVES = [merkle.leaf_hash(data) for data in TD_INPUTS]


def happy(files: list[Path]) -> list[Path]:
    return [p for p in files if p.name == "happy-path.json"]


# -- transparency-dev ------------------------------------------------------------------------


def test_vectors__transparency_dev_files_are_all_found() -> None:
    # 197 files in all: a glob that silently matched nothing would pass every test below.
    assert len(INCLUSION_FILES) + len(CONSISTENCY_FILES) + 1 == len(list(TD.rglob("*.json")))
    assert len(happy(INCLUSION_FILES)) == 5
    assert len(happy(CONSISTENCY_FILES)) == 5


@pytest.mark.parametrize("path", INCLUSION_FILES, ids=td_id)
def test_verify_inclusion__transparency_dev(path: Path) -> None:
    v = load(path)
    args = (v["leafIdx"], v["treeSize"], b64(v["leafHash"]), b64s(v["proof"]), b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


@pytest.mark.parametrize("path", CONSISTENCY_FILES, ids=td_id)
def test_verify_consistency__transparency_dev(path: Path) -> None:
    v = load(path)
    args = (v["size1"], v["size2"], b64s(v["proof"]), b64(v["root1"]), b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


@pytest.mark.parametrize("size", range(len(TD_ROOTS)))
def test_root_of__transparency_dev_leaves_and_roots(size: int) -> None:
    assert merkle.root_of(TD_LEAVES[:size]) == TD_ROOTS[size]
    assert merkle.range_hash(0, size, all_nodes(TD_LEAVES)) == TD_ROOTS[size]


@pytest.mark.parametrize("path", happy(INCLUSION_FILES), ids=td_id)
def test_inclusion_ranges__reproduce_transparency_dev_proof(path: Path) -> None:
    v = load(path)
    leaves = TD_LEAVES[: v["treeSize"]]
    assert leaves[v["leafIdx"]] == b64(v["leafHash"])
    path_hashes = merkle.hashes_for(merkle.inclusion_ranges(v["leafIdx"], v["treeSize"]), all_nodes(leaves))
    assert path_hashes == b64s(v["proof"])
    assert merkle.root_of(leaves) == b64(v["root"])


@pytest.mark.parametrize("path", happy(CONSISTENCY_FILES), ids=td_id)
def test_consistency_ranges__reproduce_transparency_dev_proof(path: Path) -> None:
    v = load(path)
    found = all_nodes(TD_LEAVES)
    proof = merkle.hashes_for(merkle.consistency_ranges(v["size1"], v["size2"]), found)
    assert proof == b64s(v["proof"])
    assert merkle.range_hash(0, v["size1"], found) == b64(v["root1"])
    assert merkle.range_hash(0, v["size2"], found) == b64(v["root2"])


# -- CCTV --------------------------------------------------------------------------------------

CCTV_TREE = load(CCTV / "merkle_tree.json")
CCTV_LEAVES = [b64(item["leaf_hash"]) for item in CCTV_TREE]

# Our policy (merkle.py docstring): a consistency proof from the empty tree proves nothing and
# is rejected, like transparency-dev/merkle and RFC 9162 (which defines proofs for 0 < m).
# CCTV accepts these two; they are listed here by (old_size, new_size) and must be refused.
CCTV_VALID_REJECTED_BY_POLICY = {(0, 0), (0, 1)}


def cctv_cases(name: str) -> list[Any]:
    return [pytest.param(case, id=f"{name}[{i}]") for i, case in enumerate(load(CCTV / f"{name}.json"))]


@pytest.mark.parametrize("size", range(1, len(CCTV_TREE) + 1))
def test_root_of__cctv_merkle_tree(size: int) -> None:
    item = CCTV_TREE[size - 1]
    assert merkle.leaf_hash(item["leaf_data"].encode()) == b64(item["leaf_hash"])
    assert merkle.root_of(CCTV_LEAVES[:size]) == b64(item["root_hash"])


@pytest.mark.parametrize("case", cctv_cases("inclusion-valid"))
def test_verify_inclusion__cctv_valid(case: dict[str, Any]) -> None:
    proof = [b64(p) for p in case["inclusion_path"]]
    index, size = case["leaf_index"], case["tree_size"]
    merkle.verify_inclusion(index, size, b64(case["leaf_hash"]), proof, b64(case["root_hash"]))
    # ... and our prover gives the same path over CCTV's leaves.
    assert merkle.hashes_for(merkle.inclusion_ranges(index, size), all_nodes(CCTV_LEAVES[:size])) == proof


@pytest.mark.parametrize("case", cctv_cases("inclusion-invalid"))
def test_verify_inclusion__cctv_invalid(case: dict[str, Any]) -> None:
    proof = [b64(p) for p in case["inclusion_path"]]
    with pytest.raises(ProofError):
        merkle.verify_inclusion(
            case["leaf_index"], case["tree_size"], b64(case["leaf_hash"]), proof, b64(case["root_hash"])
        )


def test_vectors__cctv_cases_rejected_by_policy_are_exactly_the_empty_tree_ones() -> None:
    valid = load(CCTV / "consistency-valid.json")
    sizes = {(c["old_size"], c["new_size"]) for c in valid if c["old_size"] == 0}
    assert sizes == CCTV_VALID_REJECTED_BY_POLICY


@pytest.mark.parametrize("case", cctv_cases("consistency-valid"))
def test_verify_consistency__cctv_valid(case: dict[str, Any]) -> None:
    sizes = (case["old_size"], case["new_size"])
    args = (*sizes, [b64(p) for p in case["consistency_path"]], b64(case["old_root"]), b64(case["new_root"]))
    if sizes in CCTV_VALID_REJECTED_BY_POLICY:
        with pytest.raises(ProofError, match="empty tree"):
            merkle.verify_consistency(*args)
        return
    merkle.verify_consistency(*args)
    ranges = merkle.consistency_ranges(*sizes)
    assert merkle.hashes_for(ranges, all_nodes(CCTV_LEAVES)) == args[2]


@pytest.mark.parametrize("case", cctv_cases("consistency-invalid"))
def test_verify_consistency__cctv_invalid(case: dict[str, Any]) -> None:
    with pytest.raises(ProofError):
        merkle.verify_consistency(
            case["old_size"],
            case["new_size"],
            [b64(p) for p in case["consistency_path"]],
            b64(case["old_root"]),
            b64(case["new_root"]),
        )


# -- Argon 2020 (real Certificate Transparency data) -----------------------------------------
#
# The files are the log's answers to get-sth, get-entries?start=10000&end=10000,
# get-proof-by-hash (for that entry, at the STH's size) and get-sth-consistency?first=3654490
# (to the STH's size). The *first* size of the consistency proof and the root at that size are
# in none of the files: they come from the test that uses these files, golang/mod
# sumdb/tlog/ct_test.go (TestCertificateTransparency: size 3654490, root below). Nothing in this
# folder vouches for that old root; the consistency check shows that the proof links that
# (size, root) pair to the signed tree head, as Go's test does, and its shape is checked too.
#
# The STH signature is checked with the log's public key (not in the vector folder): the
# ECDSA P-256 key of Google's "Argon2020" log as published in the CT log lists, whose SHA-256
# is the log ID sh4FzIuizYogTodm+Su5iiUgZ2va+nDnsklTLe+LkF4=. That binds the tree size and
# root we verify against to the real log.

ARGON_OLD_SIZE = 3654490
ARGON_OLD_ROOT = b64("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=")
ARGON_LOG_KEY = b64(
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6Tx2p1yKY4015NyIYvdrk36es0uAc1zA4PQ+TGRY+3ZjUTIYY9Wyu+3q"
    "/147JG4vNVKLtDWarZwVqGkg6lAYzA=="
)
ARGON_LOG_ID = b64("sh4FzIuizYogTodm+Su5iiUgZ2va+nDnsklTLe+LkF4=")
ARGON_LEAF_INDEX = 10000


@pytest.fixture(scope="module")
def argon() -> dict[str, Any]:
    sth = load(ARGON / "sth.json")
    (entry,) = load(ARGON / "entries.json")["entries"]
    proof = load(ARGON / "proof.json")
    return {
        "size": sth["tree_size"],
        "root": b64(sth["sha256_root_hash"]),
        "sth": sth,
        "leaf": merkle.leaf_hash(b64(entry["leaf_input"])),
        "index": proof["leaf_index"],
        "path": [b64(h) for h in proof["audit_path"]],
        "consistency": [b64(h) for h in load(ARGON / "consistency.json")["consistency"]],
    }


def test_argon2020__signed_tree_head_signature_verifies(argon: dict[str, Any]) -> None:
    assert hashlib.sha256(ARGON_LOG_KEY).digest() == ARGON_LOG_ID
    raw = b64(argon["sth"]["tree_head_signature"])
    # TLS DigitallySigned: hash sha256 (4), signature ecdsa (3), 2-byte length, DER signature.
    assert raw[:2] == b"\x04\x03"
    assert int.from_bytes(raw[2:4], "big") == len(raw) - 4
    # RFC 6962 3.5 TreeHeadSignature: version v1, signature_type tree_hash, timestamp, size, root.
    signed = struct.pack(">BBQQ", 0, 1, argon["sth"]["timestamp"], argon["size"]) + argon["root"]
    key = load_der_public_key(ARGON_LOG_KEY)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(raw[4:], signed, ec.ECDSA(hashes.SHA256()))


def test_argon2020__inclusion_proof_of_entry_10000(argon: dict[str, Any]) -> None:
    assert argon["size"] == 961_984_013
    assert argon["index"] == ARGON_LEAF_INDEX
    assert len(argon["path"]) == len(merkle.inclusion_ranges(ARGON_LEAF_INDEX, argon["size"]))
    merkle.verify_inclusion(ARGON_LEAF_INDEX, argon["size"], argon["leaf"], argon["path"], argon["root"])


def test_argon2020__inclusion_proof_fails_for_another_index_or_leaf(argon: dict[str, Any]) -> None:
    size, path, root = argon["size"], argon["path"], argon["root"]
    with pytest.raises(ProofError):
        merkle.verify_inclusion(ARGON_LEAF_INDEX + 1, size, argon["leaf"], path, root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(ARGON_LEAF_INDEX, size, merkle.leaf_hash(b""), path, root)


def test_argon2020__consistency_proof_from_size_3654490(argon: dict[str, Any]) -> None:
    proof = argon["consistency"]
    assert len(proof) == len(merkle.consistency_ranges(ARGON_OLD_SIZE, argon["size"]))
    merkle.verify_consistency(ARGON_OLD_SIZE, argon["size"], proof, ARGON_OLD_ROOT, argon["root"])
    with pytest.raises(ProofError):
        merkle.verify_consistency(ARGON_OLD_SIZE + 1, argon["size"], proof, ARGON_OLD_ROOT, argon["root"])
    with pytest.raises(ProofError):
        merkle.verify_consistency(ARGON_OLD_SIZE, argon["size"], proof[:-1], ARGON_OLD_ROOT, argon["root"])


def test_argon2020__proofs_share_the_right_edge_of_the_tree(argon: dict[str, Any]) -> None:
    # Both proofs end with the same perfect subtrees on the right of the tree (the pieces of
    # [2**k, size) that neither leaf 10000 nor leaf 3654489 falls in): a shape check that needs
    # no hash at all.
    incl = merkle.inclusion_ranges(ARGON_LEAF_INDEX, argon["size"])
    cons = merkle.consistency_ranges(ARGON_OLD_SIZE, argon["size"])
    shared = len(set(incl) & set(cons))
    assert shared > 0
    assert argon["path"][-shared:] == argon["consistency"][-shared:]


# -- the same proofs from a tree stored in the database --------------------------------------


def store_td_tree(conn: Connection) -> None:
    """The eight transparency-dev leaves as ledger rows, nodes built by the frontier."""
    frontier = merkle.Frontier()
    for seq, data in enumerate(TD_INPUTS):
        leaf = merkle.leaf_hash(data)
        conn.execute(insert(entries).values(seq=seq, entry_id=f"td-{seq}", leaf_hash=leaf, body=data))
        tree.store_nodes(conn, frontier.append(leaf))


@pytest.fixture
def td_tree(migrated: Any) -> Iterator[Any]:
    engine = migrated.engine()
    with db.write_transaction(engine) as conn:
        store_td_tree(conn)
    try:
        yield engine
    finally:
        engine.dispose()


def test_tree__stored_transparency_dev_tree_gives_every_root_and_proof(td_tree: Any) -> None:
    with db.read_snapshot(td_tree) as conn:
        assert tree.size(conn) == len(TD_INPUTS)
        assert [tree.root(conn, n) for n in range(len(TD_ROOTS))] == TD_ROOTS
        for path in happy(INCLUSION_FILES):
            v = load(path)
            leaf, proof, root = tree.inclusion(conn, v["leafIdx"], v["treeSize"])
            assert (leaf, proof, root) == (b64(v["leafHash"]), b64s(v["proof"]), b64(v["root"]))
        for path in happy(CONSISTENCY_FILES):
            v = load(path)
            proof, root1, root2 = tree.consistency(conn, v["size1"], v["size2"])
            assert proof == b64s(v["proof"]), td_id(path)
            assert (root1, root2) == (b64(v["root1"]), b64(v["root2"]))
