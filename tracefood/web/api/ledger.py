"""The JSON API (``/api/v1``): ledger checkpoints, keys, entries and proofs, and the OpenAPI
document that describes every route here."""

from __future__ import annotations

import base64
import json
from importlib import resources
from typing import Any

from flask import Blueprint, Response, jsonify, request

from tracefood.errors import InvalidParameter, NotInitialised
from tracefood.ledger.canonical import loads
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
    if not index.isascii() or not index.isdigit() or len(index) > MAX_DIGITS:
        raise InvalidParameter(
            "index", f"must be a non-negative integer of at most {MAX_DIGITS} digits, got {index[:40]!r}"
        )
    stored = get_ledger().entry(int(index))
    try:
        parsed = loads(stored.body)
    except ValueError:  # damaged bytes are still served as stored; `tracefood verify` names them
        parsed = None
    response = jsonify(
        {
            "index": stored.seq,
            "entry_id": stored.entry_id,
            "leaf_hash": base64.b64encode(stored.leaf_hash).decode(),
            "body": base64.b64encode(stored.body).decode(),
            "entry": parsed,
        }
    )
    response.headers["Cache-Control"] = IMMUTABLE
    return response


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
