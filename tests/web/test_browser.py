"""The producer pages in a real browser (Chromium through Playwright) against `tracefood serve`.

A producer of the demo chain signs in, records through the forms and finds the result under
« My lots », once in English on a desktop window and once in French on a phone-sized one.
The browser is Debian's Chromium (``TRACEFOOD_CHROMIUM`` to use another); without it these
tests are skipped, unless ``TRACEFOOD_REQUIRE_BROWSER=1``, which makes that a failure (CI).
SQLite only: the database work is covered on both engines by test_pages.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

REQUIRED = os.environ.get("TRACEFOOD_REQUIRE_BROWSER") == "1"
try:
    from playwright.sync_api import Browser, expect, sync_playwright
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("playwright is not installed (pip install -e .[test])", allow_module_level=True)

CHROMIUM = Path(os.environ.get("TRACEFOOD_CHROMIUM", "/usr/bin/chromium"))
YESTERDAY = (dt.datetime.now(ZoneInfo("America/Toronto")) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


def chromium() -> str:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return str(CHROMIUM)
    message = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TRACEFOOD_CHROMIUM)"
    if REQUIRED:
        pytest.fail(message + "; TRACEFOOD_REQUIRE_BROWSER=1 requires it")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def demo_server(home: Path, port: int | None = None) -> Iterator[tuple[str, str, dict[str, str]]]:
    """`tracefood demo --no-serve` (labels printed for the port it will be served on), then
    `tracefood serve`: (base URL, the demo's output, the demo tokens). ``port``: a free one."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")}
    env |= {"TRACEFOOD_HOME": str(home), "TRACEFOOD_DATABASE_URL": f"sqlite:///{home / 'tracefood.db'}"}
    cli = [sys.executable, "-m", "tracefood"]
    out = subprocess.run(
        [*cli, "demo", "--no-serve", "--port", str(port)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    tokens = json.loads((home / "demo-tokens.json").read_text())
    process = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5):  # noqa: S310 (localhost)
                    break
            except OSError:
                time.sleep(0.05)
        yield base, out, tokens
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A served demo chain: (base URL, demo tokens)."""
    chromium()  # skip before starting anything if there is no browser
    with demo_server(tmp_path_factory.mktemp("browser")) as (base, _, tokens):
        yield base, tokens


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--headless=new"])
        yield launched
        launched.close()


def test_browser__ship_through_the_form_in_english(server: tuple[str, dict[str, str]], browser: Browser) -> None:
    base, tokens = server
    context = browser.new_context(base_url=base, locale="en-CA", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/lots")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=(/|%2F)lots$"))
    page.get_by_label("Access token").fill(tokens["ferme-beauregard:producer"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "/lots")
    expect(page.get_by_role("status")).to_contain_text("Signed in as Ferme Beauregard.")

    page.get_by_role("navigation").get_by_role("link", name="Shipment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a shipment")
    page.get_by_label("Shipped from").select_option("beauregard-champ-3")
    page.get_by_label("Destination").select_option("napierville-packhouse")
    page.get_by_label("Date and time").fill(YESTERDAY)
    page.get_by_label("Product").select_option("cucumber-bulk")
    page.get_by_label("Lot code").fill("CB-0812")
    page.get_by_label("Quantity").fill("900")
    page.get_by_label("Document number").fill("FB-2026-1001")
    page.get_by_role("button", name="Record the shipment").click()

    # refused: the error is next to the quantity, linked to it, and summarised at the top
    quantity = page.get_by_label("Quantity")
    expect(page.locator("#f-quantity-error")).to_have_text(
        "cannot ship 900: only 800 KGM of CB-0812 on hand at Ferme Beauregard, champ 3"
    )
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(quantity).to_have_accessible_description(re.compile(r"only 800 KGM"))
    expect(page.get_by_role("alert")).to_contain_text("Nothing was recorded.")
    expect(page.get_by_label("Lot code")).to_have_value("CB-0812")
    page.get_by_role("alert").get_by_role("link", name="Quantity").click()
    expect(quantity).to_be_focused()

    quantity.fill("300")
    page.get_by_role("button", name="Record the shipment").click()
    expect(page).to_have_url(base + "/lots")
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Recorded \(seq \d+\)\."))
    lot = page.locator("li.lot", has_text="CB-0812")
    expect(lot).to_contain_text("500 KGM — Ferme Beauregard, champ 3")
    expect(lot).to_contain_text("300 KGM to Emballages Napierville, station de lavage")
    context.close()


def test_browser__harvest_in_french_on_a_phone(server: tuple[str, dict[str, str]], browser: Browser) -> None:
    base, tokens = server
    context = browser.new_context(base_url=base, locale="en-US", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto("/")
    page.get_by_role("link", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_label("Jeton d'accès").fill(tokens["potagers-hebert:producer"])
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("status")).to_contain_text("Vous êtes connecté en tant que Potagers Hébert.")

    page.get_by_role("navigation").get_by_role("link", name="Récolte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inscrire une récolte")
    expect(page.get_by_label("Ferme ou champ")).to_have_value("hebert-saint-remi")  # its only farm
    expect(page.get_by_label("Fuseau horaire")).to_have_value("America/Toronto")
    page.get_by_label("Date et heure").fill(YESTERDAY)
    page.get_by_label("Produit").select_option("green-leaf-bulk")
    page.get_by_label("Code de lot").fill("HG-1127")
    page.get_by_label("Quantité").fill("412,5")
    page.get_by_role("button", name="Inscrire la récolte").click()

    expect(page).to_have_url(base + "/lots")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes lots")
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"Enregistré \(séq\. \d+\)\."))
    lot = page.locator("li.lot", has_text="HG-1127")
    expect(lot).to_contain_text("Actif")
    expect(lot).to_contain_text("412,5 KGM — Potagers Hébert, Saint-Rémi")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    context.close()
