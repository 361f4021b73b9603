"""Label keys: the Ed25519 public keys that sign labels, named by a short key id.

A label carries its signer's key id (``kid``) in the fragment, so it must be short: 12
base64url characters (72 bits) of SHA-256 over a domain tag and the raw public key. The same
keys are published as RFC 8037 JSON Web Keys for the page that verifies a label in the browser
(WebCrypto), and listed in the trust list. Base64url here is RFC 4648 section 5 without padding,
as in JWK and in the label URL.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["KID_LENGTH", "b64url", "b64url_decode", "jwk", "key_id", "raw_public"]

KID_LENGTH = 12


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    """12 base64url characters (72 bits) of SHA-256 over a domain tag and the raw public key."""
    return b64url(hashlib.sha256(b"tracefood label key\n" + public_key).digest())[:KID_LENGTH]


def jwk(kid: str, public_key: bytes, **extra: Any) -> dict[str, Any]:
    """RFC 8037 OKP JSON Web Key for an Ed25519 public key."""
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(public_key), "kid": kid, "alg": "EdDSA", "use": "sig"} | extra
