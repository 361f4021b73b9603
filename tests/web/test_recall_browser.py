"""The recall officer's pages in a real browser (Debian's Chromium through Playwright) against
`tracefood serve` with the demo chain: search a lot, see the trace graph, issue a recall, see the
recall page, download the FSMA 204 spreadsheet and read it back; and the French pages."""

from __future__ import annotations

import io
import re

import openpyxl
from playwright.sync_api import Browser, Page, expect

from tests.web.test_label_browser import Demo, browser, demo
from tracefood.chain.records import FSMA_COLUMNS

__all__ = ["browser", "demo"]  # module fixtures: a served demo of its own for this module


def signed_in(browser: Browser, demo: Demo, locale: str) -> Page:
    page = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    page.goto(demo.base + "/sign-in?next=/recall")
    page.locator("#f-token").fill(demo.tokens["fda-recalls:recall_officer"])
    page.locator("main form button[type=submit]").click()
    return page


def test_recall_dashboard__search_graph_recall_download(demo: Demo, browser: Browser) -> None:
    page = signed_in(browser, demo, "en-CA")
    expect(page.locator("h1")).to_have_text("Trace and recall")
    page.get_by_label("Lot, SSCC, GTIN or farm").fill("NAP-26225-02")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/recall/trace\?id="))
    graph = page.locator("#trace-graph")
    expect(graph.locator(".node-start")).to_have_count(1)
    expect(graph.locator(".node-start .node-label")).to_have_text("NAP-26225-02")
    expect(graph.locator(".node-source .node-label")).to_have_text("HG-0812")  # the farm lot, on the left
    expect(graph.locator(".node-affected")).to_have_count(2)  # the two salad lots made from it
    expect(graph.locator(".node-holder")).to_have_count(3)  # the distributor and two retailers
    starts = [float(graph.locator(f".node-{role} rect").first.get_attribute("x") or 0)
              for role in ("source", "start", "affected", "holder")]  # fmt: skip
    assert starts == sorted(starts) and len(set(starts)) == 4  # left to right
    expect(page.locator("#holders tbody tr")).to_have_count(4)
    with page.expect_download() as download:
        page.locator("#export-xlsx").click()
    with open(download.value.path(), "rb") as fh:
        book = openpyxl.load_workbook(io.BytesIO(fh.read()))
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    assert rows[0] == FSMA_COLUMNS and {r[3] for r in rows[1:]} >= {"NAP-26225-02", "SR-0815-A", "SR-0815-B"}

    page.get_by_label("Reason").fill("Cyclospora on green leaf lettuce")
    page.get_by_label("Recall class").select_option("II")
    page.get_by_role("button", name="Recall these 3 lots").click()
    expect(page).to_have_url(re.compile(r"/recall/R-\d{4}-\d{4}$"))
    expect(page.locator("h1")).to_contain_text("Recall R-")
    # who received any of it: the processor, the distributor and the two retailers
    expect(page.locator("#recall-holders tbody tr")).to_have_count(4)
    expect(page.locator("#effectiveness")).to_have_text("0 of 4 holders acknowledged")
    expect(page.locator("#recall-holders")).to_contain_text("Hudson Valley Produce")
    page.context.close()


def test_recall_dashboard__in_french(demo: Demo, browser: Browser) -> None:
    page = signed_in(browser, demo, "fr-CA")
    expect(page.locator("h1")).to_have_text("Traçage et rappels")
    page.get_by_label("Lot, SSCC, GTIN ou ferme").fill("/00/075410000000000421")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#trace-graph .col-head", has_text="Ce lot")).to_have_count(1)
    expect(page.locator("#trace-graph .col-head", has_text="Détenteurs actuels")).to_have_count(1)
    expect(page.get_by_role("link", name="Chiffrier FSMA 204 (XLSX)")).to_be_visible()
    page.context.close()
