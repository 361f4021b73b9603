"""Who is calling: a bearer token on the API, a signed-in session on the HTML pages.

API requests authenticate with ``Authorization: Bearer tf_<id>_<secret>`` only (no cookies, so
no cross-site request forgery on the API). Pages sign in with the same token once; the signed
cookie then carries only a random session id, looked up on the server on every request
(:mod:`tracefood.chain.sessions`), so signing out, revoking the token or idling past
``WEB_SESSION_IDLE_MINUTES`` signs out every copy of the cookie.
"""

from __future__ import annotations

import datetime as dt

from flask import g, request, session

from tracefood.chain import sessions
from tracefood.chain.registry import Actor, Registry
from tracefood.errors import Forbidden, Unauthorised
from tracefood.web.ledger_ext import get_ledger, get_settings

SESSION_KEY = "sid"
"""The one thing of who is signed in that the cookie holds: the server-side session's id."""


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
    """The signed-in actor of an HTML page, or None (and a cookie whose session has ended is
    cleared)."""
    session_id = session.get(SESSION_KEY)
    if not session_id:
        return None
    idle = dt.timedelta(minutes=get_settings().web_session_idle_minutes)
    actor = sessions.actor(get_ledger().engine, str(session_id), idle)
    if actor is None:
        session.clear()
    return actor


def sign_in(actor: Actor) -> None:
    """Start a server-side session for ``actor`` in a fresh cookie session (a new CSRF token:
    nothing chosen before signing in survives it)."""
    assert actor.token_id is not None
    engine = get_ledger().engine
    previous = session.get(SESSION_KEY)
    if previous:  # this browser's earlier session ends: one browser, one session
        sessions.end(engine, str(previous))
    session_id = sessions.start(engine, actor.token_id)
    session.clear()
    session[SESSION_KEY] = session_id
    session.permanent = True


def sign_out() -> None:
    """End the server-side session (every copy of the cookie) and clear this one."""
    session_id = session.get(SESSION_KEY)
    if session_id:
        sessions.end(get_ledger().engine, str(session_id))
    session.clear()
