"""Who is calling: a bearer token on the API, a signed-in session on the HTML pages.

API requests authenticate with ``Authorization: Bearer tf_<id>_<secret>`` only (no cookies, so
no cross-site request forgery on the API). Pages sign in with the same token once; the session
keeps the token id, which is re-checked on every request so that a revoked token signs out.
"""

from __future__ import annotations

from flask import g, request, session

from tracefood.chain.registry import Actor, Registry
from tracefood.errors import Forbidden, Unauthorised
from tracefood.web.ledger_ext import get_ledger


def registry() -> Registry:
    return Registry(get_ledger().engine)


def api_actor(required: bool = True) -> Actor | None:
    """The actor of this API request (401 problem if ``required`` and none)."""
    if "actor" in g:
        return g.actor  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    actor: Actor | None = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorised(
                "use Authorization: Bearer <token>", errors=[{"field": "Authorization", "reason": "not a bearer token"}]
            )
        actor = registry().authenticate(token)
    elif required:
        raise Unauthorised(
            "this route needs an API token: Authorization: Bearer <token> (tracefood token create)",
            errors=[{"field": "Authorization", "reason": "missing"}],
        )
    g.actor = actor
    return actor


def require(*roles: str) -> Actor:
    actor = api_actor()
    assert actor is not None
    if roles and actor.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)} (you are {actor.role})")
    return actor


def page_actor() -> Actor | None:
    """The signed-in actor of an HTML page, or None."""
    token_id = session.get("token_id")
    if not token_id:
        return None
    actor = registry().actor_of_token_id(str(token_id))
    if actor is None:
        session.clear()
    return actor
