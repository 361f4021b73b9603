"""The ledger core: canonical encoding, hash chain + Merkle tree, checkpoints, verification.

Pure Python + SQLAlchemy; never imports Flask, click or ``tracefood.web`` (an import-linter
contract in CI enforces it). Typical use::

    from tracefood.ledger import Ledger
    ledger = Ledger.open("sqlite:///tracefood.db", key_file="ledger.key")
    receipt = ledger.append({"type": "ObjectEvent", ...}, entry_id="ni:///sha-256;...")
    checkpoint = ledger.latest_checkpoint()     # signed C2SP checkpoint, signed by the append
    proof = ledger.inclusion_proof(receipt.seq, checkpoint.size)
    report = ledger.verify(held=[checkpoint.note])
"""

from tracefood.ledger.append import NewEntry, Receipt, Write
from tracefood.ledger.checkpoints import SignedCheckpoint
from tracefood.ledger.ledger import ConsistencyProof, InclusionProof, Ledger, StoredEntry

__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "Ledger",
    "NewEntry",
    "Receipt",
    "SignedCheckpoint",
    "StoredEntry",
    "Write",
]
