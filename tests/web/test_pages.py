"""The producer pages through the Flask test client, on the demo chain, on each engine.

The demo leaves Ferme Beauregard with 800 kg of cucumbers (lot CB-0812) at its field 3, which
these tests harvest next to, ship from and receive at Emballages Napierville.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import Database
from tracefood.demo.chain import load_demo
from tracefood.ledger import Ledger
from tracefood.web import i18n, ledger_ext
from tracefood.web.app import create_app
from tracefood.web.pages.site import FIELDS, event_time, field_of, quantity_text

FARM = "ferme-beauregard:producer"
PACKER = "emballages-napierville:producer"
YESTERDAY = (dt.datetime.now(ZoneInfo("America/Toronto")) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def tokens(migrated: Database, key_file: Path, tmp_path: Path) -> dict[str, str]:
    ledger = Ledger.open(migrated.url, key_file=key_file)
    try:
        return load_demo(ledger, tmp_path).tokens
    finally:
        ledger.close()


@pytest.fixture
def app(migrated: Database, key_file: Path, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {"DATABASE_URL": migrated.url, "LEDGER_KEY_FILE": str(key_file), "SECRET_KEY": "test", "HOME": str(tmp_path)}
    )
    yield app
    ledger_ext.close(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_of(response: TestResponse) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: FlaskClient, token: str, next_url: str = "/") -> TestResponse:
    form = client.get("/sign-in")
    return client.post("/sign-in", data={"token": token, "next": next_url, "csrf_token": csrf_of(form)})


def ledger_size(client: FlaskClient) -> int:
    return int(client.get("/healthz").get_json()["ledger_size"])


def post_record(client: FlaskClient, kind: str, **fields: str) -> TestResponse:
    values = {"time": YESTERDAY, "tz": "America/Toronto"} | fields
    return client.post(f"/record/{kind}", data=values | {"csrf_token": csrf_of(client.get(f"/record/{kind}"))})


def ship_cucumbers(client: FlaskClient, quantity: str) -> TestResponse:
    return post_record(
        client,
        "ship",
        location="beauregard-champ-3",
        to="napierville-packhouse",
        product="cucumber-bulk",
        lot="CB-0812",
        quantity=quantity,
        reference_type="bol",
        reference_number="FB-2026-0999",
    )


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def field_error(response: TestResponse, name: str) -> str:
    """The error shown next to field ``name`` (and check that the input points to it)."""
    page = text(response)
    match = re.search(rf'<p class="error" id="f-{name}-error">([^<]*)</p>', page)
    assert match, f"no error next to {name}"
    tag = re.search(rf'<(input|select)[^>]*id="f-{name}"[^>]*>', page)
    assert tag and f"f-{name}-error" in tag.group(0) and 'aria-invalid="true"' in tag.group(0)
    assert f'href="#f-{name}"' in page.split("<form")[0] or 'class="error-summary"' in page
    return match.group(1)


# -- signing in --------------------------------------------------------------------------------


def test_sign_in__good_token_starts_a_new_session(client: FlaskClient, tokens: dict[str, str]) -> None:
    before = csrf_of(client.get("/sign-in"))
    response = sign_in(client, tokens[FARM], "/lots")
    assert response.status_code == 303 and response.headers["Location"] == "/lots"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    home = client.get("/")
    assert "Signed in as Ferme Beauregard (producer)" in text(home)
    # the session was rotated: a form token from before signing in is no longer accepted
    stale = client.post("/sign-out", data={"csrf_token": before})
    assert stale.status_code == 400
    assert client.get("/lots").status_code == 200


def test_sign_in__bad_token_is_refused(client: FlaskClient, tokens: dict[str, str]) -> None:
    bad = tokens[FARM][:-4] + "AAAA"
    response = sign_in(client, bad, "/lots")
    assert response.status_code == 422
    assert "This token is unknown, revoked or mistyped." in text(response)
    assert 'aria-describedby="f-token-error f-token-help"' in text(response)
    assert bad not in text(response)  # a token is never echoed back
    assert client.get("/lots").status_code == 303


def test_sign_in__cookie_is_secure_over_https(app: Flask, tokens: dict[str, str]) -> None:
    client = app.test_client()
    form = client.get("/sign-in", base_url="https://localhost")
    assert "Secure" in form.headers["Set-Cookie"]
    response = client.post(
        "/sign-in",
        base_url="https://localhost",
        data={"token": tokens[FARM], "csrf_token": csrf_of(form)},
        headers={"Referer": "https://localhost/sign-in"},
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_pages__need_sign_in(client: FlaskClient, tokens: dict[str, str]) -> None:
    for path in ("/lots", "/record/harvest", "/record/ship", "/record/receive"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"] == "/sign-in?next=" + path
    assert "Sign in to see this page." in text(client.get("/sign-in?next=/lots"))
    assert sign_in(client, tokens[FARM], "/record/ship").headers["Location"] == "/record/ship"


def test_sign_in__never_returns_to_another_site(client: FlaskClient, tokens: dict[str, str]) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example"):
        client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/"))})
        assert sign_in(client, tokens[FARM], target).headers["Location"] == "/"


def test_sign_out__ends_the_session(client: FlaskClient, tokens: dict[str, str]) -> None:
    sign_in(client, tokens[FARM])
    response = client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/lots"))})
    assert response.status_code == 303
    assert "Signed out." in text(client.get("/"))
    assert client.get("/lots").status_code == 303


def test_record__only_for_producers(client: FlaskClient, tokens: dict[str, str]) -> None:
    sign_in(client, tokens["acia-cfia:inspector"])
    response = client.get("/record/harvest")
    assert response.status_code == 403
    assert "Recording pages are for producers; you are signed in as inspector." in text(response)


# -- CSRF ------------------------------------------------------------------------------------------


def test_csrf__missing_or_wrong_token_is_refused(client: FlaskClient, tokens: dict[str, str]) -> None:
    sign_in(client, tokens[FARM])
    size = ledger_size(client)
    harvest = {
        "location": "beauregard-champ-3",
        "time": YESTERDAY,
        "tz": "America/Toronto",
        "product": "romaine-bulk",
        "lot": "RB-CSRF",
        "quantity": "10",
    }
    for token in (None, "", "not-a-token", csrf_of(client.get("/")) + "x"):
        data = harvest if token is None else harvest | {"csrf_token": token}
        response = client.post("/record/harvest", data=data)
        assert response.status_code == 400
        assert response.mimetype == "text/html"
        assert "its security token was missing or wrong. Nothing was recorded." in text(response)
    # signing in is protected too (no login CSRF)
    assert client.post("/sign-in", data={"token": tokens[PACKER]}).status_code == 400
    assert ledger_size(client) == size
    assert "RB-CSRF" not in text(client.get("/lots"))
    assert "Ferme Beauregard" in text(client.get("/"))  # still signed in as before


# -- recording -------------------------------------------------------------------------------------


def test_record_harvest__lot_appears_in_my_lots(client: FlaskClient, tokens: dict[str, str]) -> None:
    sign_in(client, tokens[FARM])
    size = ledger_size(client)
    fields = {
        "location": "beauregard-champ-3",
        "product": "romaine-bulk",
        "lot": "RB-0901",
        "quantity": "1 250,5",
        "field": "Champ 3, rangs 41-60",
    }
    response = post_record(client, "harvest", **fields)
    assert response.status_code == 303 and response.headers["Location"] == "/lots"
    lots = client.get("/lots")
    page = text(lots)
    assert f"Recorded (seq {size})." in page
    assert "RB-0901" in page and "1250.5 KGM — Ferme Beauregard, champ 3" in page
    assert ledger_size(client) == size + 1
    again = post_record(client, "harvest", **fields)
    assert again.status_code == 303
    assert f"Already recorded (seq {size}): nothing was added." in text(client.get("/lots"))
    assert ledger_size(client) == size + 1


def test_record_ship__more_than_on_hand_is_explained_at_the_quantity(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    sign_in(client, tokens[FARM])
    size = ledger_size(client)
    response = ship_cucumbers(client, "900")
    assert response.status_code == 422
    reason = field_error(response, "quantity")
    assert reason == "cannot ship 900: only 800 KGM of CB-0812 on hand at Ferme Beauregard, champ 3"
    page = text(response)
    summary = page.split('<form method="post" action="/record/ship"')[0]
    assert '<a href="#f-quantity">Quantity</a>: cannot ship 900' in summary
    assert 'value="900"' in page and 'value="FB-2026-0999"' in page  # what was typed is kept
    assert '<option value="napierville-packhouse" selected>' in page
    assert ledger_size(client) == size


def test_record__form_errors_are_shown_by_their_fields(client: FlaskClient, tokens: dict[str, str]) -> None:
    sign_in(client, tokens[FARM])
    size = ledger_size(client)
    response = post_record(
        client,
        "ship",
        time="2026-03-08T02:30",  # skipped when Eastern time springs forward
        product="cucumber-bulk",
        lot="CB-0812",
        quantity="lots",
        reference_number="FB-1",
    )
    assert response.status_code == 422
    assert field_error(response, "location") == "required"
    assert field_error(response, "to") == "required"
    assert field_error(response, "time").startswith("this time does not exist in America/Toronto")
    assert field_error(response, "quantity") == "must be a number, e.g. 12.5"
    assert field_error(response, "reference_type") == "required"
    assert 'id="f-reference_number-error"' not in text(response)
    tomorrow = (dt.datetime.now(ZoneInfo("UTC")) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    future = ship_cucumbers_at(client, tomorrow)
    assert future.status_code == 422
    assert field_error(future, "time") == "more than 5 minutes in the future"
    assert ledger_size(client) == size


def ship_cucumbers_at(client: FlaskClient, when: str) -> TestResponse:
    return post_record(
        client,
        "ship",
        time=when,
        tz="UTC",
        location="beauregard-champ-3",
        to="napierville-packhouse",
        product="cucumber-bulk",
        lot="CB-0812",
        quantity="10",
        reference_type="bol",
        reference_number="FB-1",
    )


def test_record_ship_then_receive__moves_the_lot(app: Flask, tokens: dict[str, str]) -> None:
    farm, packer = app.test_client(), app.test_client()
    sign_in(farm, tokens[FARM])
    assert ship_cucumbers(farm, "300").status_code == 303
    page = text(farm.get("/lots"))
    assert "500 KGM — Ferme Beauregard, champ 3" in page
    assert "300 KGM to Emballages Napierville, station de lavage" in page

    sign_in(packer, tokens[PACKER])
    form = packer.get("/record/receive")
    assert '<option value="napierville-packhouse" selected>' in text(form)  # its only location
    response = post_record(
        packer,
        "receive",
        location="napierville-packhouse",
        **{"from": "beauregard-champ-3"},
        product="cucumber-bulk",
        lot="CB-0812",
        quantity="300",
        reference_type="bol",
        reference_number="FB-2026-0999",
    )
    assert response.status_code == 303, text(response)
    assert "300 KGM — Emballages Napierville, station de lavage" in text(packer.get("/lots"))
    assert "300 KGM to" not in text(farm.get("/lots"))


def test_record_receive__of_a_lot_not_shipped_here(client: FlaskClient, tokens: dict[str, str]) -> None:
    sign_in(client, tokens[PACKER])
    response = post_record(
        client,
        "receive",
        location="napierville-packhouse",
        product="cucumber-bulk",
        lot="CB-0812",
        quantity="10",
        reference_type="bol",
        reference_number="X-1",
    )
    assert response.status_code == 422
    assert "CB-0812" in field_error(response, "lot")


# -- French ----------------------------------------------------------------------------------------


def test_french__chosen_with_lang_and_remembered(client: FlaskClient, tokens: dict[str, str]) -> None:
    response = client.get("/?lang=fr")
    page = text(response)
    assert '<html lang="fr">' in page and "Se connecter" in page and "Jeton d&#39;accès" in page
    assert 'hreflang="en"' in page and "English" in page
    assert any(c.startswith("tf_lang=fr;") and "HttpOnly" in c for c in response.headers.getlist("Set-Cookie"))
    sign_in(client, tokens[FARM])
    home = text(client.get("/"))
    assert "Vous êtes connecté en tant que Ferme Beauregard (producteur)." in home
    for word in ("Récolte", "Expédition", "Réception", "Mes lots", "Se déconnecter"):
        assert word in home
    form = text(client.get("/record/harvest"))
    assert "Inscrire une récolte" in form and "Quantité" in form and "Code de lot" in form
    response = ship_cucumbers(client, "900")
    assert "Rien n&#39;a été enregistré." in text(response)
    assert '<a href="#f-quantity">Quantité</a>\u00a0: cannot ship 900' in text(response)
    assert "Mes lots" in text(client.get("/lots")) and "En stock" in text(client.get("/lots"))
    assert '<html lang="en">' in text(client.get("/?lang=en"))
    assert '<html lang="en">' in text(client.get("/"))


@pytest.mark.engines("sqlite")  # no database work: once is enough
def test_french__from_accept_language(client: FlaskClient) -> None:
    page = text(client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}))
    assert '<html lang="fr">' in page and "Traçabilité pour les producteurs" in page and "Se connecter" in page
    assert '<html lang="en">' in text(client.get("/", headers={"Accept-Language": "de-DE"}))
    response = client.get("/", headers={"Accept-Language": "fr-CA"})
    assert "Accept-Language" in response.headers["Vary"]


@pytest.mark.engines("sqlite")
def test_french__csrf_page(client: FlaskClient) -> None:
    response = client.post("/sign-in?lang=fr", data={"token": "x"})
    assert response.status_code == 400
    assert "Formulaire expiré ou envoyé d&#39;ailleurs" in text(response)


@pytest.mark.engines("sqlite")
def test_pages__no_external_resources(client: FlaskClient) -> None:
    response = client.get("/")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert not re.search(r'(src|href)="(https?:)?//', text(response))
    with client.get("/static/tracefood.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"


# -- pure parts --------------------------------------------------------------------------------


def test_i18n__every_message_in_both_languages() -> None:
    for msgid, entry in i18n.CATALOG.items():
        assert set(entry) == set(i18n.LANGUAGES), msgid
        fields = {lang: set(re.findall(r"{(\w+)}", text)) for lang, text in entry.items()}
        assert fields["en"] == fields["fr"], msgid


@pytest.mark.parametrize(
    ("pointer", "kind", "field"),
    [
        ("/items/0/quantity", "ship", "quantity"),
        ("/quantityList/0/quantity", "ship", "quantity"),
        ("/quantityList/0", "receive", "lot"),
        ("/items/0/product", "harvest", "product"),
        ("/items/0/lot", "harvest", "lot"),
        ("/eventTime", "harvest", "time"),
        ("/time", "ship", "time"),
        ("/bizLocation/id", "receive", "location"),
        ("/readPoint/id", "ship", "location"),
        ("/to", "ship", "to"),
        ("/sourceList", "receive", "from"),
        ("/reference/type", "ship", "reference_type"),
        ("/reference", "receive", "reference_number"),
        ("/to", "harvest", None),
        ("/epcisBody", "ship", None),
    ],
)
def test_field_of__maps_pointers_to_form_fields(pointer: str, kind: str, field: str | None) -> None:
    assert field_of(pointer, kind) == field
    assert field is None or field in FIELDS[kind]


def test_event_time__uses_the_offset_of_that_day() -> None:
    assert event_time("2026-07-01T06:30", "America/Toronto") == "2026-07-01T06:30:00-04:00"
    assert event_time("2026-01-15T06:30", "America/Toronto") == "2026-01-15T06:30:00-05:00"
    assert event_time("2026-01-15T06:30:15", "UTC") == "2026-01-15T06:30:15+00:00"
    with pytest.raises(ValueError, match="2026-03-08T02:30"):
        event_time("2026-03-08T02:30", "America/Toronto")
    with pytest.raises(ValueError):
        event_time("15/01/2026", "America/Toronto")
    with pytest.raises(OverflowError):
        event_time("9999-12-31T23:30", "America/Toronto")


def test_quantity_text__reads_french_numbers() -> None:
    assert quantity_text("12,5") == "12.5"
    assert quantity_text("1\u202f250") == "1250"
    assert quantity_text("12.5") == "12.5"
    assert quantity_text("1,2,3") == "1,2,3"  # left for the ledger to refuse
