"""Web sessions kept on the server, so that signing out ends them for every copy of the cookie.

A browser that signs in with an API token gets a random session id (256 bits) in its signed
cookie; the ``web_sessions`` table keeps only the id's SHA-256, the token it stands for and when
it was started, last seen and ended. A session signs its browser in while it is not ended, its
token is not revoked (``Registry.revoke_token`` ends the token's sessions in the same
transaction) and it was seen within the idle limit (``WEB_SESSION_IDLE_MINUTES``). Signing out
marks it ended: a saved copy of the cookie is then worth nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from tracefood.chain.registry import Actor
from tracefood.chain.tables import api_tokens, web_sessions
from tracefood.ledger import db

_log = logging.getLogger(__name__)
ID_BYTES = 32
KEPT = dt.timedelta(days=31)
"""Sessions seen last longer ago than this (the longest idle limit) are deleted at the next sign-in."""
TOUCH_EVERY = dt.timedelta(minutes=1)
"""``last_seen_at`` is written at most this often per session: a page view is not a write."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def _naive(moment: dt.datetime) -> dt.datetime:
    # SQLite gives stored times back without their offset; every stored time is UTC.
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def start(engine: Engine, token_id: str) -> str:
    """A new session for ``token_id``; returns its id (for the cookie only, never stored)."""
    session_id = secrets.token_urlsafe(ID_BYTES)
    now = _now()
    with db.write_transaction(engine) as conn:
        conn.execute(delete(web_sessions).where(web_sessions.c.last_seen_at < now - KEPT))
        conn.execute(
            insert(web_sessions).values(
                id_hash=_hash(session_id), token_id=token_id, created_at=now, last_seen_at=now, ended_at=None
            )
        )
    return session_id


def actor(engine: Engine, session_id: str, idle: dt.timedelta) -> Actor | None:
    """Who the session ``session_id`` signs in, or None if it is unknown, ended, idle past
    ``idle`` or its token is revoked."""
    now = _now()
    stmt = (
        select(api_tokens.c.id, api_tokens.c.role, api_tokens.c.party_id, api_tokens.c.label)
        .add_columns(web_sessions.c.last_seen_at)
        .join(api_tokens, api_tokens.c.id == web_sessions.c.token_id)
        .where(
            web_sessions.c.id_hash == _hash(session_id),
            web_sessions.c.ended_at.is_(None),
            web_sessions.c.last_seen_at >= now - idle,
            api_tokens.c.revoked_at.is_(None),
        )
    )
    with db.read_snapshot(engine, single_statement=True) as conn:
        row = conn.execute(stmt).mappings().first()
    if row is None:
        return None
    if _naive(now) - _naive(row["last_seen_at"]) >= TOUCH_EVERY:
        _touch(engine, session_id, now)
    return Actor(row["role"], row["party_id"], row["label"] or row["id"], row["id"])


def _touch(engine: Engine, session_id: str, now: dt.datetime) -> None:
    """Note that the session was seen. Only the idle limit depends on it, so a write that
    fails (a full disk, a busy database) is logged and the page is shown all the same."""
    try:
        with db.write_transaction(engine) as conn:
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.id_hash == _hash(session_id), web_sessions.c.ended_at.is_(None))
                .values(last_seen_at=now)
            )
    except SQLAlchemyError as exc:
        _log.warning("could not note a web session as seen: %s", exc)


def end(engine: Engine, session_id: str) -> None:
    """End the session (sign-out); an unknown or ended one stays as it is."""
    with db.write_transaction(engine) as conn:
        conn.execute(
            update(web_sessions)
            .where(web_sessions.c.id_hash == _hash(session_id), web_sessions.c.ended_at.is_(None))
            .values(ended_at=_now())
        )
