"""Page sessions live on the server (issue 12): signing out, revoking the token or idling past
WEB_SESSION_IDLE_MINUTES ends a session for every copy of its cookie, on each engine."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.factories import World
from tests.web.test_pages import csrf_of, sign_in
from tracefood.chain.registry import OPERATOR
from tracefood.chain.tables import web_sessions


@pytest.fixture
def world(web_world: World) -> World:
    return web_world


@pytest.fixture
def app(make_app: Callable[..., Flask], world: World) -> Flask:
    return make_app(WEB_SESSION_IDLE_MINUTES="5")


def signed_in(client: FlaskClient) -> bool:
    """Whether the client's cookie signs it in (a page that needs it answers, not a redirect)."""
    response = client.get("/lots")
    assert response.status_code in (200, 303)
    return response.status_code == 200


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a saved copy of ``client``'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    other = app.test_client()
    other.set_cookie("session", cookie.value)
    return other


def test_session__sign_out_ends_every_copy_of_the_cookie(app: Flask, world: World) -> None:
    client = app.test_client()
    assert sign_in(client, world.tokens["farm-a"]).status_code == 303
    saved = copy_of(app, client)
    assert signed_in(saved)
    response = client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/"))})
    assert response.status_code == 303
    assert not signed_in(client)
    assert not signed_in(saved), "a saved copy of the cookie still signs in after signing out"


def test_session__the_cookie_and_the_table_hold_no_token(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.tokens["farm-a"])
    cookie = client.get_cookie("session")
    assert cookie is not None
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)  # type: ignore[attr-defined]
    _, token_id, secret = world.tokens["farm-a"].split("_", 2)
    assert token_id not in str(data) and secret not in str(data)
    with world.ledger.engine.connect() as conn:
        rows = conn.execute(select(web_sessions)).mappings().all()
    assert len(rows) == 1 and rows[0]["token_id"] == token_id and rows[0]["ended_at"] is None
    assert bytes(rows[0]["id_hash"]) == hashlib.sha256(data["sid"].encode()).digest()


def test_session__revoking_the_token_ends_its_sessions(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.tokens["farm-a"])
    saved = copy_of(app, client)
    world.registry.revoke_token(world.tokens["farm-a"].split("_")[1], OPERATOR)
    with world.ledger.engine.connect() as conn:
        ended = conn.execute(select(web_sessions.c.ended_at)).scalars().all()
    assert len(ended) == 1 and ended[0] is not None
    assert not signed_in(saved) and not signed_in(client)


def test_session__ends_when_idle_too_long(app: Flask, world: World) -> None:
    client = app.test_client()
    sign_in(client, world.tokens["farm-a"])
    assert signed_in(client)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    with world.ledger.engine.begin() as conn:
        conn.execute(update(web_sessions).values(last_seen_at=long_ago))
    assert not signed_in(client)


def test_session__signing_in_again_replaces_the_browser_s_session(app: Flask, world: World) -> None:
    client, elsewhere = app.test_client(), app.test_client()
    sign_in(client, world.tokens["farm-a"])
    sign_in(elsewhere, world.tokens["farm-a"])
    first = copy_of(app, client)
    sign_in(client, world.tokens["farm-b"])
    assert signed_in(client) and not signed_in(first)  # the browser's earlier session ended
    client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/"))})
    assert signed_in(elsewhere) and not signed_in(client)  # another browser keeps its own


def test_session__long_gone_sessions_are_deleted_at_the_next_sign_in(app: Flask, world: World) -> None:
    sign_in(app.test_client(), world.tokens["farm-a"])
    with world.ledger.engine.begin() as conn:
        conn.execute(update(web_sessions).values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40)))
    sign_in(app.test_client(), world.tokens["farm-b"])
    with world.ledger.engine.connect() as conn:
        assert conn.execute(select(web_sessions.c.token_id)).scalars().all() == [world.tokens["farm-b"].split("_")[1]]
