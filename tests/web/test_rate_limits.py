"""Token guessing is throttled per client address (issue 12): failed bearer tokens and refused
sign-ins, counted by Flask-Limiter; a good token is never counted, on each engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import World
from tests.web.test_pages import csrf_of, sign_in
from tracefood.config import load_settings
from tracefood.errors import InvalidParameter

LIMIT = 3
BAD = "Bearer tf_0000000000000000_wrongwrongwrongwrongwrong"


@pytest.fixture
def world(web_world: World) -> World:
    return web_world


@pytest.fixture
def app(make_app: Callable[..., Flask], world: World) -> Flask:
    return make_app(AUTH_RATE_LIMIT=f"{LIMIT} per minute", SIGN_IN_RATE_LIMIT=f"{LIMIT} per minute")


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_too_many(response: object, mimetype: str) -> None:
    __tracebackhide__ = True
    assert response.status_code == 429, response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.mimetype == mimetype  # type: ignore[attr-defined]
    retry = int(response.headers["Retry-After"])  # type: ignore[attr-defined]
    assert 1 <= retry <= 60


def test_bearer__failed_tokens_past_the_limit_answer_429(app: Flask, world: World) -> None:
    guesser, other = client_at(app, "192.0.2.1"), client_at(app, "192.0.2.2")
    for _ in range(LIMIT):
        assert guesser.get("/api/v1/me", headers={"Authorization": BAD}).status_code == 401
    response = guesser.get("/api/v1/me", headers={"Authorization": BAD})
    assert_too_many(response, "application/problem+json")
    problem = response.get_json()
    assert problem["status"] == 429 and problem["errors"][0]["field"] == "Authorization"
    # Past the limit a good token from the guesser is refused too (or a guess would show it
    # was right); from another client it works, and that client's good calls are not counted.
    assert guesser.get("/api/v1/me", headers=bearer(world.tokens["farm-a"])).status_code == 429
    assert guesser.get("/epcis/events", headers={"Authorization": BAD}).status_code == 429
    for _ in range(LIMIT * 3):
        assert other.get("/api/v1/me", headers=bearer(world.tokens["farm-a"])).status_code == 200


def test_bearer__good_tokens_and_anonymous_calls_are_never_counted(app: Flask, world: World) -> None:
    client = client_at(app, "192.0.2.3")
    for _ in range(LIMIT * 3):
        assert client.get("/api/v1/me", headers=bearer(world.tokens["farm-a"])).status_code == 200
        assert client.get("/api/v1/me").status_code == 401  # no token: nothing guessed
        assert client.get("/api/v1/ledger/checkpoint").status_code in (200, 404, 503)
    assert client.get("/api/v1/me", headers={"Authorization": BAD}).status_code == 401


def test_sign_in__refused_sign_ins_past_the_limit_answer_a_429_page(app: Flask, world: World) -> None:
    browser, other = client_at(app, "198.51.100.7"), client_at(app, "198.51.100.8")
    for _ in range(LIMIT):
        assert sign_in(browser, "tf_nope").status_code == 422
    form = browser.get("/sign-in?lang=fr")
    response = browser.post("/sign-in", data={"token": world.tokens["farm-a"], "csrf_token": csrf_of(form)})
    assert_too_many(response, "text/html")
    page = response.get_data(as_text=True)
    assert "Trop de connexions refusées" in page and 'name="token"' in page
    assert response.headers["Content-Security-Policy"]  # still one of the pages
    english = browser.post(
        "/sign-in", data={"token": "x"}, headers={"Accept-Language": "en"}, query_string={"lang": "en"}
    )
    assert_too_many(english, "text/html")
    assert "Too many failed sign-ins" in english.get_data(as_text=True)
    assert browser.get("/sign-in").status_code == 200  # the form itself is still shown
    assert sign_in(other, world.tokens["farm-a"]).status_code == 303


def test_sign_in__good_sign_ins_are_never_counted(app: Flask, world: World) -> None:
    browser = client_at(app, "198.51.100.9")
    for _ in range(LIMIT * 2):
        assert sign_in(browser, world.tokens["farm-a"]).status_code == 303
    assert sign_in(browser, "tf_nope").status_code == 422


def test_sign_in__a_client_asking_for_json_gets_a_problem(app: Flask, world: World) -> None:
    client = client_at(app, "198.51.100.10")
    for _ in range(LIMIT):
        sign_in(client, "tf_nope")
    form = client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"token": "tf_nope", "csrf_token": csrf_of(form)},
        headers={"Accept": "application/problem+json"},
    )
    assert_too_many(response, "application/problem+json")
    assert response.get_json()["errors"][0]["field"] == "token"


@pytest.mark.parametrize(
    ("name", "value"),
    [("AUTH_RATE_LIMIT", "lots"), ("SIGN_IN_RATE_LIMIT", ""), ("WEB_SESSION_IDLE_MINUTES", "0")],
)
def test_settings__a_bad_limit_stops_the_start(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        load_settings(overrides={"HOME": str(tmp_path), name: value}, environ={})
    assert caught.value.errors[0]["field"] == "TRACEFOOD_" + name
