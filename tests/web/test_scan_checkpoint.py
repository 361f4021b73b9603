"""The scan page remembers the ledger's history on the device (issue 12).

In a real browser (Debian's Chromium through Playwright) against `tracefood serve` with the demo
chain: the page keeps in localStorage the largest checkpoint it verified, per ledger (origin and
key); a later scan of a grown ledger must come with a consistency proof, checked in the page,
before the new checkpoint is remembered; a server with the same ledger key and origin but another
history (a rewritten, re-signed ledger) is refused with a red verdict in English and in French.

The page's Merkle verifier (static/merkle.js) is also run in Chromium against every RFC 6962 /
9162 vector in tests/vectors/merkle (transparency-dev, CCTV, Argon 2020), as the Python
verifier is in tests/ledger/test_merkle_vectors.py. SQLite only: what the ledger stores and
proves is covered on both engines elsewhere; this is the browser's memory.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VECTORS
from tests.ledger.test_merkle_vectors import ARGON_OLD_ROOT, ARGON_OLD_SIZE, CCTV_VALID_REJECTED_BY_POLICY
from tests.web.test_browser import browser, chromium, demo_server, free_port

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
except ImportError:  # test_browser.py already skips or fails the run for this
    pytest.skip("playwright is not installed (pip install -e .[test])", allow_module_level=True)

__all__ = ["browser"]  # the module fixture, from test_browser

MERKLE_JS = Path(__file__).resolve().parents[2] / "tracefood" / "web" / "static" / "merkle.js"
MERKLE = VECTORS / "merkle"
MEMORY = "tracefood.checkpoint:"
REWRITTEN_EN = "This server's history differs from what this device saw before: the ledger may have been rewritten."
REWRITTEN_FR = "L'historique de ce serveur diffère de ce que cet appareil a vu auparavant\u00a0: le registre"


# -- the page's Merkle verifier against the vectors ------------------------------------------


@pytest.fixture(scope="module")
def merkle_page(browser: Browser) -> Iterator[Page]:
    """A page on http://localhost (a secure context: WebCrypto is there) with merkle.js loaded."""
    context = browser.new_context()
    page = context.new_page()
    page.route("http://localhost/**", lambda route: route.fulfill(status=200, content_type="text/html", body="<p>"))
    page.goto("http://localhost/merkle")
    page.add_script_tag(content=MERKLE_JS.read_text(encoding="utf-8"))
    yield page
    context.close()


RUN = """async ([kind, cases]) => {
  const b = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const out = [];
  for (const c of cases) {
    const proof = (c.proof || []).map(b);
    try {
      out.push(kind === "consistency"
        ? await TraceFoodMerkle.verifyConsistency(c.size1, c.size2, b(c.root1), b(c.root2), proof)
        : await TraceFoodMerkle.verifyInclusion(c.index, c.size, b(c.leaf), proof, b(c.root)));
    } catch (e) { out.push("threw " + e); }
  }
  return out;
}"""


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def consistency_cases() -> list[tuple[str, dict[str, Any], bool]]:
    """(name, case, valid) for every consistency vector, in the page's argument names."""
    cases = []
    for path in sorted((MERKLE / "transparency-dev" / "consistency").rglob("*.json")):
        v = load(path)
        case = {"size1": v["size1"], "size2": v["size2"], "root1": v["root1"], "root2": v["root2"], "proof": v["proof"]}
        cases.append((f"td/{path.parent.name}/{path.stem}", case, not v["wantErr"]))
    for name in ("consistency-valid", "consistency-invalid"):
        for i, v in enumerate(load(MERKLE / "cctv" / f"{name}.json")):
            sizes = (v["old_size"], v["new_size"])
            case = {"size1": sizes[0], "size2": sizes[1], "root1": v["old_root"], "root2": v["new_root"]}
            valid = name == "consistency-valid" and sizes not in CCTV_VALID_REJECTED_BY_POLICY
            cases.append((f"cctv/{name}[{i}]", case | {"proof": v["consistency_path"]}, valid))
    argon = load(MERKLE / "argon2020" / "sth.json")
    proof = load(MERKLE / "argon2020" / "consistency.json")["consistency"]
    old = base64_text(ARGON_OLD_ROOT)
    real = {"size1": ARGON_OLD_SIZE, "size2": argon["tree_size"], "root1": old, "root2": argon["sha256_root_hash"]}
    cases.append(("argon2020", real | {"proof": proof}, True))
    cases.append(("argon2020 size1+1", real | {"size1": ARGON_OLD_SIZE + 1, "proof": proof}, False))
    cases.append(("argon2020 truncated", real | {"proof": proof[:-1]}, False))
    return cases


def inclusion_cases() -> list[tuple[str, dict[str, Any], bool]]:
    cases = []
    for path in sorted((MERKLE / "transparency-dev" / "inclusion").rglob("*.json")):
        v = load(path)
        case = {"index": v["leafIdx"], "size": v["treeSize"], "leaf": v["leafHash"], "root": v["root"]}
        cases.append((f"td/{path.parent.name}/{path.stem}", case | {"proof": v["proof"]}, not v["wantErr"]))
    for name in ("inclusion-valid", "inclusion-invalid"):
        for i, v in enumerate(load(MERKLE / "cctv" / f"{name}.json")):
            case = {"index": v["leaf_index"], "size": v["tree_size"], "leaf": v["leaf_hash"], "root": v["root_hash"]}
            cases.append((f"cctv/{name}[{i}]", case | {"proof": v["inclusion_path"]}, name == "inclusion-valid"))
    return cases


def base64_text(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("kind", ["consistency", "inclusion"])
def test_merkle_js__every_vector(merkle_page: Page, kind: str) -> None:
    cases = consistency_cases() if kind == "consistency" else inclusion_cases()
    assert len(cases) > 100  # a glob that matched nothing would pass
    assert any(valid for _, _, valid in cases) and not all(valid for _, _, valid in cases)
    got = merkle_page.evaluate(RUN, [kind, [case for _, case, _ in cases]])
    wrong = [f"{name}: expected {valid}, got {answer}" for (name, _, valid), answer in zip(cases, got, strict=True)
             if answer is not valid]  # fmt: skip
    assert wrong == []


# -- the scan page's memory --------------------------------------------------------------------


class Server:
    """A demo served on a fixed port (the browser's memory is per web origin)."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self._cm = demo_server(home, port)
        self.base, out, self.tokens = self._cm.__enter__()
        self.labels = dict(re.findall(r"  ([^\n]+):\n    (http\S+)", out))
        self.active = self.labels["salad mix lot, active"]

    def stop(self) -> None:
        self._cm.__exit__(None, None, None)

    def harvest(self, lot: str) -> None:
        """A new lot harvested at Ferme Beauregard through the readable API: the ledger grows."""
        body = {
            "kind": "harvest",
            "time": "2026-08-13T09:00:00-04:00",
            "location": "beauregard-champ-3",
            "items": [{"product": "cucumber-bulk", "lot": lot, "quantity": "750"}],
        }
        request = urllib.request.Request(  # noqa: S310 (localhost)
            self.base + "/api/v1/events",
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.tokens['ferme-beauregard:producer']}",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (localhost)
            assert response.status in (200, 201), response.status


def scan(device: BrowserContext, url: str) -> Page:
    """Open the label in a tab of this device and wait for the verdict (history check included)."""
    page = device.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", re.compile(r"genuine|refused|unknown"))
    expect(page.locator("#check-history .check-result")).not_to_have_attribute("data-state", "pending")
    assert errors == []
    return page


def remembered(page: Page) -> dict[str, Any]:
    """What the device keeps: {storage key: {size, root, note}}."""
    found: dict[str, Any] = page.evaluate(
        """(prefix) => Object.fromEntries(Object.keys(localStorage).filter((k) => k.startsWith(prefix))
             .map((k) => [k, JSON.parse(localStorage.getItem(k))]))""",
        MEMORY,
    )
    return found


def presenting(device: BrowserContext, note: str) -> Callable[[Route], None]:
    """Serve the label pages to ``device`` with ``note`` as the checkpoint they present."""

    def handler(route: Route) -> None:
        response = route.fetch()
        html = response.text()
        found = re.search(r'(<script type="application/json" id="label-data">)(.*?)(</script>)', html, re.S)
        assert found is not None
        data = json.loads(found.group(2)) | {"checkpoint": note}
        text = json.dumps(data).replace("<", "\\u003c")
        route.fulfill(response=response, body=html[: found.start(2)] + text + html[found.end(2) :])

    device.route("**/01/**", handler)
    return handler


def size_of(page: Page) -> int:
    return int((page.locator("#checkpoint").text_content() or "").split("\n")[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    chromium()
    server = Server(tmp_path_factory.mktemp("scan-memory"), free_port())
    try:
        yield server
    finally:
        server.stop()


NO_ED25519 = """(() => {
  const importKey = crypto.subtle.importKey.bind(crypto.subtle);
  crypto.subtle.importKey = (format, data, algorithm, ...rest) =>
    (algorithm && (algorithm.name || algorithm) === "Ed25519")
      ? Promise.reject(new DOMException("Ed25519 is not supported", "NotSupportedError"))
      : importKey(format, data, algorithm, ...rest);
})();"""


def test_scan_page__without_ed25519_still_checks_the_history(site: Server, browser: Browser) -> None:
    """A browser without Ed25519 in WebCrypto (older Safari, Firefox before 129): the signatures
    are said to be unchecked here, the history is still compared with SHA-256."""
    old = browser.new_context(locale="en-CA")
    old.add_init_script(NO_ED25519)
    page = scan(old, site.active)
    expect(page.locator("#check-local .check-result")).to_have_attribute("data-state", "unavailable")
    expect(page.locator("#checkpoint-signature")).to_have_attribute("data-state", "unavailable")
    expect(page.locator("#checkpoint-signature")).to_contain_text("cannot check Ed25519 signatures")
    expect(page.locator("#check-history .check-result")).to_have_attribute("data-state", "ok")
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "genuine")  # the server's, as before
    events = page.locator("li.event").count()
    expect(page.locator('li.event .proof-result[data-state="ok"]')).to_have_count(events)
    old.close()


def test_scan_page__remembers_and_rejects_a_rewritten_history(
    site: Server, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    phone = browser.new_context(locale="en-CA", viewport={"width": 390, "height": 844}, is_mobile=True)

    # first scan: the checkpoint is verified and remembered
    page = scan(phone, site.active)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "genuine")
    expect(page.locator("#check-history .check-result")).to_have_attribute("data-state", "ok")
    expect(page.locator("#check-history .check-result")).to_contain_text("first scan of this ledger")
    first = size_of(page)
    (slot, seen), *others = remembered(page).items()
    assert others == []
    assert seen["size"] == first and seen["note"] == page.locator("#checkpoint").text_content()
    assert slot.startswith(MEMORY + seen["note"].split("\n")[0] + " ")  # keyed by the log's origin and key
    page.close()

    # the ledger grows: the next scan proves the new tree extends the remembered one
    site.harvest("CB-SCAN-1")
    site.harvest("CB-SCAN-2")
    phone.route("**/api/v1/ledger/proofs/consistency*", lambda route: route.abort())  # the proof never comes
    page = scan(phone, site.active)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "unknown")  # not "genuine" without it
    expect(page.locator("#check-history .check-result")).to_have_attribute("data-state", "unavailable")
    assert remembered(page)[slot]["size"] == first
    page.close()
    phone.unroute("**/api/v1/ledger/proofs/consistency*")
    page = scan(phone, site.active)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "genuine")
    expect(page.locator("#check-history .check-result")).to_have_attribute("data-state", "ok")
    expect(page.locator("#check-history .check-result")).to_contain_text(f"extends the {first} entries")
    grown = size_of(page)
    assert grown == first + 2
    kept = remembered(page)[slot]
    assert kept["size"] == grown
    page.close()
    page = scan(phone, site.active)  # nothing new: the same root
    expect(page.locator("#check-history .check-result")).to_contain_text(f"the same {grown} entries")
    page.close()

    # a server (or a cache) showing an older checkpoint must prove the remembered one extends it
    older = presenting(phone, seen["note"])
    page = scan(phone, site.active)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "genuine")
    expect(page.locator("#check-history .check-result")).to_contain_text(f"an older view ({first} entries)")
    assert remembered(page)[slot] == kept
    page.close()
    phone.unroute("**/01/**", older)
    lines = seen["note"].split("\n")
    lines[2] = base64_text(bytes(32))  # the same size with another root, signature kept: it fails
    forged = presenting(phone, "\n".join(lines))
    page = scan(phone, site.active)
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "refused")
    expect(page.locator("#verdict")).to_have_attribute("data-reason", "checkpoint")
    expect(page.locator("#checkpoint-signature")).to_have_attribute("data-state", "failed")
    page.close()
    phone.unroute("**/01/**", forged)

    # the same ledger key and origin, another history, served at the same address
    site.stop()
    other = tmp_path_factory.mktemp("rewritten")
    shutil.copy2(site.home / "ledger.key", other / "ledger.key")  # the key, not its witness
    forger = Server(other, site.port)
    try:
        for i in range(3):
            forger.harvest(f"CB-FORGED-{i}")
        for locale, words, title in (
            ("en-CA", REWRITTEN_EN, "Ledger history changed — do not trust this label"),
            ("fr-CA", REWRITTEN_FR, "Historique du registre modifié — ne vous fiez pas à cette étiquette"),
        ):
            device = browser.new_context(locale=locale, storage_state=phone.storage_state())  # the same phone
            page = scan(device, forger.active)
            expect(page.locator("#verdict")).to_have_attribute("data-verdict", "refused")
            expect(page.locator("#verdict")).to_have_attribute("data-reason", "history")
            expect(page.locator("#verdict")).to_have_class(re.compile(r"\bverdict-refused\b"))  # red
            expect(page.locator("#verdict-title")).to_have_text(title)
            expect(page.locator("#verdict-detail")).to_contain_text(words)
            expect(page.locator("#check-history .check-result")).to_have_attribute("data-state", "failed")
            assert remembered(page)[slot] == kept  # what the device saw is kept, not replaced
            device.close()

        # a device that never saw the first history has nothing to compare with
        fresh = browser.new_context(locale="en-CA")
        page = scan(fresh, forger.active)
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "genuine")
        expect(page.locator("#check-history .check-result")).to_contain_text("first scan of this ledger")
        fresh.close()
    finally:
        forger.stop()

    # the same ledger name under a key of its own (TraceFood never changes a ledger's key)
    impostor = Server(tmp_path_factory.mktemp("other-key"), site.port)
    # (the phone's HTTP cache still holds the first key for an hour: its checkpoint signature would
    # fail first; the same storage without that cache reaches the key check)
    device = browser.new_context(locale="en-CA", storage_state=phone.storage_state())
    try:
        page = scan(device, impostor.active)
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "refused")
        expect(page.locator("#verdict")).to_have_attribute("data-reason", "key")
        expect(page.locator("#verdict-title")).to_have_text("Ledger history changed — do not trust this label")
        expect(page.locator("#verdict-detail")).to_contain_text("signs with another key")
        assert list(remembered(page)) == [slot]  # nothing remembered for the other key
    finally:
        impostor.stop()
        device.close()
        phone.close()
