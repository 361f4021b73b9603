"""The JSON API (``/api/v1``): ledger checkpoints, keys, entries and proofs, and the OpenAPI
document that describes every route here.

Who sees an entry: anyone may check the ledger from hashes, so anyone gets an entry's index, its
entry id, its leaf hash and the checkpoint it is under (with the address of its inclusion proof);
the proof and checkpoint routes are public too. The payload (the stored bytes and the parsed
entry) is a business record: it goes only to a caller whose token may see the event it holds, by
the rule the EPCIS query applies to events (:func:`tracefood.chain.query_sql.visibility`: the
events its party recorded and those naming a lot it may see), and to the roles that read every
lot (:data:`tracefood.chain.access.READS_EVERY_LOT`), who alone see entries that hold no event.
"""

from __future__ import annotations

import base64
import json
from importlib import resources
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import Engine, select

from tracefood.chain import access
from tracefood.chain.query_sql import visibility
from tracefood.chain.registry import Actor
from tracefood.chain.tables import events
from tracefood.errors import InvalidParameter, NotInitialised
from tracefood.ledger import db
from tracefood.ledger.canonical import loads
from tracefood.web.auth import api_actor
from tracefood.web.ledger_ext import get_ledger

api = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_DIGITS = 19  # longer numbers are refused before int() (which refuses > 4300 digits)
IMMUTABLE = "public, max-age=31536000, immutable"


def _int_arg(name: str, *, required: bool = True, minimum: int = 0) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise InvalidParameter(name, "is required")
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_DIGITS:
        raise InvalidParameter(name, f"must be a non-negative integer of at most {MAX_DIGITS} digits, got {raw[:40]!r}")
    value = int(raw)
    if value < minimum:
        raise InvalidParameter(name, f"must be at least {minimum}")
    return value


def _text(body: str, cache: str = "no-cache") -> Response:
    response = Response(body, mimetype="text/plain")
    response.headers["Cache-Control"] = cache
    return response


@api.get("/openapi.json")
def openapi() -> Response:
    document = resources.files("tracefood.web").joinpath("openapi.json").read_text(encoding="utf-8")
    return Response(document, mimetype="application/json")


@api.get("/ledger/checkpoint")
def checkpoint() -> Response:
    """The latest signed checkpoint (C2SP signed note). Only read: every write that grows the
    tree signs its checkpoint before it commits, so this one covers every committed entry."""
    signed = get_ledger().latest_checkpoint()
    if signed is None:
        raise NotInitialised("no checkpoint has been signed yet: run `tracefood checkpoint`")
    return _text(signed.note)


@api.get("/ledger/key")
def key() -> Response:
    """The ledger's verifier key in signed-note verifier-key format."""
    return _text(get_ledger().verifier.encode() + "\n", cache="public, max-age=3600")


@api.get("/ledger/entries/<index>")
def entry(index: str) -> Any:
    """An entry as anyone may check it (index, entry id, leaf hash, the checkpoint it is under),
    and its payload (``body``: the bytes as hashed, base64; ``entry``: parsed) only to a caller
    who may see it (the module docstring). A token is optional; a bad one is still a 401."""
    if not index.isascii() or not index.isdigit() or len(index) > MAX_DIGITS:
        raise InvalidParameter(
            "index", f"must be a non-negative integer of at most {MAX_DIGITS} digits, got {index[:40]!r}"
        )
    ledger = get_ledger()
    actor = api_actor(required=False)
    stored = ledger.entry(int(index))
    signed = ledger.latest_checkpoint()
    size = signed.size if signed is not None and signed.size > stored.seq else None
    shown: dict[str, Any] = {
        "index": stored.seq,
        "entry_id": stored.entry_id,
        "leaf_hash": base64.b64encode(stored.leaf_hash).decode(),
        "checkpoint": None
        if size is None
        else {"size": size, "inclusion_proof": f"/api/v1/ledger/proofs/inclusion?index={stored.seq}&size={size}"},
        "payload": "shown" if _may_read_payload(ledger.engine, actor, stored.seq) else "withheld",
    }
    if shown["payload"] == "shown":
        try:
            parsed = loads(stored.body)
        except ValueError:  # damaged bytes are still served as stored; `tracefood verify` names them
            parsed = None
        shown |= {"body": base64.b64encode(stored.body).decode(), "entry": parsed}
    response = jsonify(shown)
    # what is shown depends on the token, and the checkpoint grows: never a shared cache
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Authorization")
    return response


def _may_read_payload(engine: Engine, actor: Actor | None, seq: int) -> bool:
    """Whether ``actor`` may read the payload of entry ``seq``: every payload for the roles that
    read every lot; otherwise an event it may see by the EPCIS query's rule, and nothing else."""
    if actor is None:
        return False
    if access.reads_every_lot(actor):
        return True
    seen = visibility(actor)
    stmt = select(events.c.seq).where(events.c.seq == seq, *([] if seen is None else [seen]))
    with db.read_snapshot(engine, single_statement=True) as conn:
        return conn.execute(stmt).first() is not None


@api.get("/ledger/proofs/inclusion")
def inclusion() -> Any:
    index = _int_arg("index")
    size = _int_arg("size", required=False, minimum=1)
    assert index is not None
    proof = get_ledger().inclusion_proof(index, size)
    response = jsonify(proof.to_json())
    if size is not None:
        response.headers["Cache-Control"] = IMMUTABLE
    return response


@api.get("/ledger/proofs/consistency")
def consistency() -> Any:
    first = _int_arg("from", minimum=1)
    second = _int_arg("to", required=False, minimum=1)
    assert first is not None
    if second is not None and first > second:
        raise InvalidParameter("from", f"must not be larger than to ({second})")
    proof = get_ledger().consistency_proof(first, second)
    response = jsonify(proof.to_json())
    if second is not None:
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def openapi_paths() -> dict[str, Any]:
    """The paths of the bundled OpenAPI document (used by the tests and the docs)."""
    document = resources.files("tracefood.web").joinpath("openapi.json").read_text(encoding="utf-8")
    paths: dict[str, Any] = json.loads(document)["paths"]
    return paths
