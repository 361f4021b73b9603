"""A property-based run of schemathesis against the served OpenAPI document (issue 3).

Every documented operation is called with generated requests that fit the document and with
requests that break it, as an admin, as a producer and with no token, against a database the
demo supply chain has filled. Whatever the request:

* no 5xx, and the response matches the document (status code, media type, schema);
* every error is an RFC 9457 ``application/problem+json`` document;
* the ledger, and the registry's audit trail, change only when the answer is 2xx.

Generation is seeded (``derandomize``) so a failure reproduces; every failing operation is
reported at once, each with a curl command and the response. A few hostile requests that
generation rarely reaches (NUL characters, impossible dates, huge exponents, deep nesting) are
pinned below with the same contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from tests.conftest import Database
from tests.web.conftest import LABEL_MASTER_KEY
from tracefood.chain.tables import registry_audit
from tracefood.demo.chain import load_demo
from tracefood.ledger import Ledger
from tracefood.web import ledger_ext
from tracefood.web.app import create_app

PROBLEM = "application/problem+json"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TOKENS = {"admin": "tracefood-admin:admin", "producer": "ferme-beauregard:producer", "anonymous": None}
# Who gets past each operation's role gate, and so is worth many requests there; the others
# get a few, to show that the gate answers with a problem and changes nothing.
ADMIN_ONLY = {
    "GET /api/v1/audit",
    "POST /api/v1/tokens",
    *(f"POST /api/v1/{kind}" for kind in ("parties", "locations", "products")),
    *(f"PATCH /api/v1/{kind}/{{item_id}}" for kind in ("parties", "locations", "products")),
}
SCAN_PAGES = ("/01/", "/00/")
WRITERS_ONLY = {"POST /api/v1/events", "POST /epcis/capture"}
MAX_EXAMPLES = 25  # per operation and generation mode (so 50+ per operation) for an actor past the gate
AT_THE_GATE = 5  # per operation, valid data only (the gate never reads the input)
FROM_EXAMPLES = 5  # the document's own examples: demo ids, so they reach past validation


@dataclass
class Served:
    app: Flask
    ledger: Ledger
    tokens: dict[str, str]
    schema: Any

    def state(self) -> tuple[int, int]:
        """(ledger size, registry audit records): what a refused request must leave alone."""
        with self.ledger.engine.connect() as conn:
            audited = conn.execute(select(func.count()).select_from(registry_audit)).scalar_one()
        return self.ledger.size(), int(audited)

    def bearer(self, actor: str) -> dict[str, str]:
        name = TOKENS[actor]
        return {"Authorization": f"Bearer {self.tokens[name]}"} if name else {}


@pytest.fixture
def served(migrated: Database, key_file: Path, tmp_path: Path) -> Iterator[Served]:
    ledger = Ledger.open(migrated.url, key_file=key_file)
    tokens = load_demo(ledger, tmp_path).tokens
    settings = {
        "DATABASE_URL": migrated.url,
        "LEDGER_KEY_FILE": str(key_file),
        "SECRET_KEY": "t",
        "HOME": str(tmp_path),
    }
    app = create_app(settings | {"LABEL_MASTER_KEY": LABEL_MASTER_KEY})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=schemathesis.Config())
    yield Served(app, ledger, tokens, schema)
    ledger_ext.close(app)
    ledger.close()


def assert_contract(status: int, media_type: str, body: Any, changed: str | None, where: str) -> None:
    """The issue's three properties for one answer; ``changed`` says what moved, if anything."""
    __tracebackhide__ = True
    assert status < 500, f"server error:\n{where}"
    if status >= 400:
        assert media_type == PROBLEM, f"error without problem+json:\n{where}"
        assert isinstance(body, dict), f"the problem is not a JSON object:\n{where}"
        assert {"type", "title", "status", "detail"} <= body.keys(), f"incomplete problem:\n{where}"
        assert body["status"] == status, f"problem status differs from the HTTP status:\n{where}"
    if not 200 <= status < 300:
        assert changed is None, f"{changed} on a {status}:\n{where}"


def what_changed(before: tuple[int, int], after: tuple[int, int]) -> str | None:
    if before == after:
        return None
    return f"ledger size {before[0]} -> {after[0]}, audit records {before[1]} -> {after[1]}"


def check_case(served: Served, case: Case, actor: str) -> None:
    """Send one generated request and hold it to the contract and to the document."""
    __tracebackhide__ = True
    headers = served.bearer(actor) or None
    if headers is None and case.headers:
        case.headers.pop("Authorization", None)  # "no token" means no header at all
    if case.path.startswith(SCAN_PAGES):  # pages for phones, JSON (and problems) for clients that ask
        headers = (headers or {}) | {"Accept": "application/json"}
    before = served.state()
    response = case.call(headers=headers)
    after = served.state()
    media_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip().lower()
    try:
        body = response.json()
    except ValueError:
        body = None
    where = f"  {case.as_curl_command(headers=headers)}\n  -> {response.status_code} {media_type} {response.text[:500]}"
    assert_contract(response.status_code, media_type, body, what_changed(before, after), where)
    case.validate_response(response, checks=CHECKS, headers=headers)


def negatable(operation: Any) -> bool:
    """Whether the operation takes any input to break (GET /healthz takes none)."""
    return any(len(part) for part in (operation.path_parameters, operation.query, operation.headers, operation.body))


def budget(operation: Any, actor: str) -> int:
    """How many requests per generation mode ``actor`` sends to ``operation`` (0: none)."""
    if operation.definition.raw.get("security") == []:  # public: one run answers for every token
        return MAX_EXAMPLES if actor == "anonymous" else 0
    if operation.label in ADMIN_ONLY:
        return MAX_EXAMPLES if actor == "admin" else AT_THE_GATE
    if operation.label in WRITERS_ONLY:
        return MAX_EXAMPLES if actor == "producer" else AT_THE_GATE
    return AT_THE_GATE if actor == "anonymous" else MAX_EXAMPLES


def run(strategy: st.SearchStrategy[Case], examples: int, check: Callable[[Case], None]) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(case=strategy)
    def contract_holds(case: Case) -> None:
        check(case)

    contract_holds()


def test_openapi__document_is_valid() -> None:
    """The document itself is valid OpenAPI 3.1 (schemathesis checks it against the meta-schema)."""
    text = resources.files("tracefood.web").joinpath("openapi.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(document, config=schemathesis.Config()).validate()


def test_api__generated_requests_keep_the_contract(served: Served) -> None:
    operations = [result.ok() for result in served.schema.get_all_operations()]
    assert len(operations) >= 20, "the OpenAPI document lost its operations"
    failures: list[str] = []
    for actor in TOKENS:
        for operation in operations:
            examples = budget(operation, actor)
            if not examples:
                continue
            passes: list[tuple[str, st.SearchStrategy[Case], int]] = []
            documented = served.schema.get_strategies_from_examples(operation)
            if documented and examples == MAX_EXAMPLES:
                passes.append(("documented examples", st.one_of(documented), FROM_EXAMPLES))
            passes.append(("valid data", operation.as_strategy(GenerationMode.POSITIVE), examples))
            if negatable(operation) and examples == MAX_EXAMPLES:
                passes.append(("invalid data", operation.as_strategy(GenerationMode.NEGATIVE), examples))
            for name, strategy, count in passes:
                try:
                    run(strategy, count, lambda case, actor=actor: check_case(served, case, actor))
                except (Exception, BaseExceptionGroup) as exc:  # all collected, reported below
                    failures.append(f"### {operation.label}, {name}, {actor}\n{exc}")
    if failures:
        pytest.fail(f"{len(failures)} failing runs:\n\n" + "\n\n".join(failures), pytrace=False)


# -- hostile requests ------------------------------------------------------------------------

HARVEST = {
    "kind": "harvest",
    "time": "2026-08-13T09:00:00-04:00",
    "location": "beauregard-champ-3",
    "items": [{"product": "cucumber-bulk", "lot": "CB-0813", "quantity": "750"}],
}
DEEP = "[" * 100_000 + "]" * 100_000
CAPTURE = (  # one EPCIS 2.0 ObjectEvent at Ferme Beauregard; NUMBER and EXTRA are filled in below
    '{"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"], "type": "EPCISDocument",'
    ' "schemaVersion": "2.0", "creationDate": "2026-08-13T10:05:00-04:00", "epcisBody": {"eventList": [{'
    '"type": "ObjectEvent", "eventTime": "2026-08-13T10:00:00-04:00", "eventTimeZoneOffset": "-04:00",'
    ' "action": "OBSERVE", "bizStep": "storing", "disposition": "in_progress", "quantityList": [{"epcClass":'
    ' "https://id.gs1.org/01/07541001000352/10/CB-0812", "quantity": NUMBER, "uom": "KGM"}],'
    ' "readPoint": {"id": "https://id.gs1.org/414/7541000001015"}EXTRA}]}}'
)
HOSTILE: list[tuple[str, str, str, str, Any]] = [
    # (name, actor, method, url, JSON body or raw JSON text)
    ("event-time-feb-30", "producer", "POST", "/api/v1/events", HARVEST | {"time": "2026-02-30T09:00:00-04:00"}),
    ("event-time-hour-25", "producer", "POST", "/api/v1/events", HARVEST | {"time": "2026-08-13T25:00:00Z"}),
    ("event-time-offset-99h", "producer", "POST", "/api/v1/events", HARVEST | {"time": "2026-08-13T09:00:00+99:00"}),
    (
        "quantity-huge-exponent",
        "producer",
        "POST",
        "/api/v1/events",
        HARVEST | {"items": [{"product": "cucumber-bulk", "lot": "CB-0813", "quantity": "1E999999"}]},
    ),
    (
        "quantity-huge-exponent-number",
        "producer",
        "POST",
        "/api/v1/events",
        '{"kind": "harvest", "time": "2026-08-13T09:00:00-04:00", "location": "beauregard-champ-3",'
        ' "items": [{"product": "cucumber-bulk", "lot": "CB-0813", "quantity": 1E999999}]}',
    ),
    (
        "capture-quantity-huge-exponent",
        "producer",
        "POST",
        "/epcis/capture",
        CAPTURE.replace("NUMBER", "1E999999").replace("EXTRA", ""),
    ),
    (
        "capture-extension-huge-exponent",
        "producer",
        "POST",
        "/epcis/capture",
        CAPTURE.replace("NUMBER", "800").replace("EXTRA", ', "tf:weight": 1E999999999'),
    ),
    ("events-deeply-nested", "producer", "POST", "/api/v1/events", DEEP),
    ("capture-deeply-nested", "producer", "POST", "/epcis/capture", DEEP),
    ("event-location-nul", "producer", "POST", "/api/v1/events", HARVEST | {"location": "champ\x00"}),
    ("event-id-nul", "producer", "POST", "/api/v1/events", HARVEST | {"event_id": "urn:x:\x00"}),
    ("lots-party-nul", "admin", "GET", "/api/v1/lots?party=a%00b", None),
    ("locations-party-nul", "admin", "GET", "/api/v1/locations?party=a%00b", None),
    ("party-id-nul", "admin", "GET", "/api/v1/parties/a%00b", None),
    ("party-patch-id-nul", "admin", "PATCH", "/api/v1/parties/a%00b", {"name": "x"}),
    ("audit-id-nul", "admin", "GET", "/api/v1/audit?id=a%00b", None),
    ("token-party-nul", "admin", "POST", "/api/v1/tokens", {"party": "a\x00", "role": "producer"}),
    ("token-label-nul", "admin", "POST", "/api/v1/tokens", {"party": "cbsa", "role": "producer", "label": "a\x00"}),
]


def test_api__hostile_requests_keep_the_contract(served: Served) -> None:
    client = served.app.test_client()
    failures: list[str] = []
    for name, actor, method, url, body in HOSTILE:
        kwargs: dict[str, Any] = {"headers": served.bearer(actor)}
        if isinstance(body, str):
            kwargs.update(data=body, content_type="application/json")
        elif body is not None:
            kwargs["json"] = body
        before = served.state()
        response = client.open(url, method=method, **kwargs)
        after = served.state()
        shown = (body if isinstance(body, str) else json.dumps(body))[:300] if body is not None else ""
        where = f"  {method} {url} {shown}\n  -> {response.status_code} {response.mimetype} {response.text[:400]}"
        problem = response.get_json(silent=True, force=True)
        try:
            assert_contract(response.status_code, response.mimetype, problem, what_changed(before, after), where)
        except AssertionError as exc:
            failures.append(f"### {name} (as {actor})\n{exc}")
    if failures:
        pytest.fail(f"{len(failures)} of {len(HOSTILE)} hostile requests:\n\n" + "\n\n".join(failures), pytrace=False)
