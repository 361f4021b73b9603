"""Registry, token, import and export commands as a user runs them: real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.cli.test_cli import run
from tests.conftest import VECTORS, Database
from tracefood.ledger import db

GS1 = VECTORS / "epcis" / "gs1-examples"
GDST = VECTORS / "epcis" / "gdst-traceback"


@pytest.fixture
def home(database: Database, tmp_path: Path) -> tuple[Path, str]:
    assert run(tmp_path, "init", url=database.url).returncode == 0
    party = run(tmp_path, "party", "create", "id=coop", "name=Coop Montérégie", "country=CA", url=database.url)
    assert party.returncode == 0, party.stderr
    return tmp_path, database.url


def test_cli__registry_create_show_update_list(home: tuple[Path, str]) -> None:
    tmp, url = home
    made = run(
        tmp,
        "location",
        "create",
        "id=coop-farm",
        "name=Champ 1",
        "party=coop",
        "kind=farm",
        "country=CA",
        "premises=1234567",
        url=url,
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["uri"] == "urn:tracefood:loc:coop-farm"
    updated = run(tmp, "party", "update", "coop", 'contact={"email": "info@coop.example"}', url=url)
    assert json.loads(updated.stdout)["contact"] == {"email": "info@coop.example"}
    shown = json.loads(run(tmp, "party", "show", "coop", url=url).stdout)
    assert shown["name"] == "Coop Montérégie"
    listed = json.loads(run(tmp, "location", "list", "--json", url=url).stdout)
    assert [row["id"] for row in listed] == ["coop-farm"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("party", "create", "id=coop", "name=Again", "country=CA"), "already exists"),
        (("party", "create", "id=x", "name=X", "country=Canada"), "country"),
        (
            (
                "product",
                "create",
                "id=p",
                "description=P",
                "commodity=c",
                "unit=KGM",
                "ftl=true",
                "gtin=09506000134353",
            ),
            "check digit",
        ),
        (("location", "show", "nowhere"), "no location 'nowhere'"),
        (("token", "create", "--party", "ghost", "--role", "producer"), "unknown party"),
    ],
)
def test_cli__registry_errors_are_one_line(home: tuple[Path, str], args: tuple[str, ...], message: str) -> None:
    tmp, url = home
    result = run(tmp, *args, url=url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_cli__token_create_prints_the_secret_once(home: tuple[Path, str]) -> None:
    tmp, url = home
    token = run(tmp, "token", "create", "--party", "coop", "--role", "producer", url=url).stdout.strip()
    assert token.startswith("tf_")
    listed = json.loads(run(tmp, "token", "list", url=url).stdout)
    assert len(listed) == 1 and token not in json.dumps(listed) and listed[0]["role"] == "producer"
    assert run(tmp, "token", "revoke", listed[0]["id"], url=url).returncode == 0
    assert json.loads(run(tmp, "token", "list", url=url).stdout)[0]["revoked_at"] is not None


def test_cli__import_and_export_epcis(home: tuple[Path, str]) -> None:
    tmp, url = home
    files = [GS1 / "Example_9.6.1-ObjectEvent.jsonld", GS1 / "Example_9.6.3-AggregationEvent.jsonld"]
    first = run(tmp, "import", "epcis", *map(str, files), "--party", "coop", "--json", url=url)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["rejected_files"] == 0 and summary["accepted"] > 0
    again = json.loads(run(tmp, "import", "epcis", *map(str, files), "--party", "coop", "--json", url=url).stdout)
    assert again["accepted"] == 0 and again["duplicates"] == summary["accepted"]
    out = tmp / "export.jsonld"
    exported = run(tmp, "export", "epcis", "-o", str(out), url=url)
    assert exported.returncode == 0
    document = json.loads(out.read_text())
    assert document["type"] == "EPCISDocument"
    assert len(document["epcisBody"]["eventList"]) == summary["accepted"]
    assert run(tmp, "verify", "--projections", url=url).returncode == 0


def test_cli__gdst_query_documents_are_read_and_judged(home: tuple[Path, str]) -> None:
    """The GDST documents are EPCIS query documents from another system. Today each is refused
    with a reason (not a traceback): an ``epcisHeader`` the EPCIS JSON Schema does not allow in a
    query document, SSCCs whose EPC URN is one digit short, a malformed file. The byte order
    mark of example01 is read past: its refusal is about content, not JSON."""
    tmp, url = home
    files = sorted(GDST.glob("*.jsonld"))
    result = run(tmp, "import", "epcis", *map(str, files), "--party", "coop", "--json", url=url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    by_name = {Path(f["file"]).name: f for f in json.loads(result.stdout)["files"]}
    assert by_name["EPCISQueryDocument_malformed.jsonld"]["errors"][0]["reason"].startswith("not valid JSON")
    bom = by_name["epcisquerydoc-example01.jsonld"]["errors"]
    assert bom and not bom[0]["reason"].startswith("not valid JSON")
    assert by_name["traceback_tests.jsonld"]["errors"][0]["field"].startswith("/epcisBody/eventList/")
    assert json.loads(run(tmp, "verify", "--json", url=url).stdout)["size"] == 0


def test_cli__gdst_documents_import_with_lenient_and_say_what_was_repaired(home: tuple[Path, str]) -> None:
    tmp, url = home
    files = sorted(GDST.glob("*.jsonld"))
    result = run(tmp, "import", "epcis", *map(str, files), "--party", "coop", "--lenient", "--json", url=url)
    assert result.returncode == 1  # the malformed file is still refused
    by_name = {Path(f["file"]).name: f for f in json.loads(result.stdout)["files"]}
    assert [name for name, f in by_name.items() if f["errors"]] == ["EPCISQueryDocument_malformed.jsonld"]
    # testserver_advancedfilters comes first and shares 12 of traceback_tests' 21 events
    assert by_name["testserver_advancedfilters.jsonld"]["accepted"] == 17
    assert (by_name["traceback_tests.jsonld"]["accepted"], by_name["traceback_tests.jsonld"]["duplicates"]) == (9, 12)
    assert (by_name["EPCISQueryDocument_duplicate_eventIDs.jsonld"]["accepted"], by_name[
        "EPCISQueryDocument_duplicate_eventIDs.jsonld"]["duplicates"]) == (1, 1)  # fmt: skip
    repaired = {r["field"] for r in by_name["epcisquerydoc-example01.jsonld"]["repairs"]}
    assert "/epcisHeader" in repaired
    assert run(tmp, "verify", "--projections", url=url).returncode == 0
    text = run(tmp, "import", "epcis", str(GDST / "traceback_tests.jsonld"), "--party", "coop", "--lenient", url=url)
    assert text.returncode == 0 and "0 new, 21 already recorded" in text.stdout
    traced = run(tmp, "trace", "urn:epc:id:sscc:08600031303.0005", "--direction", "forward", "--json", url=url)
    assert json.loads(traced.stdout)["lots"] == ["urn:gdst:example.org:product:lot:class:processor.2u.v1-0122-2022"]


def test_cli__verify_rebuild_replaces_projections_that_differ(home: tuple[Path, str]) -> None:
    tmp, url = home
    assert run(tmp, "import", "epcis", str(GDST / "traceback_tests.jsonld"), "--party", "coop", "--lenient", url=url)
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE stock SET quantity = quantity + 1"))
    engine.dispose()
    assert run(tmp, "verify", "--projections", url=url).returncode == 1
    assert run(tmp, "verify", "--rebuild", url=url).returncode == 2  # a usage error: needs --projections
    rebuilt = run(tmp, "verify", "--projections", "--rebuild", "--json", url=url)
    assert rebuilt.returncode == 0 and json.loads(rebuilt.stdout)["projections"]["rebuilt"] is True
    assert run(tmp, "verify", "--projections", url=url).returncode == 0


def test_cli__a_rejected_file_is_reported_and_changes_nothing(home: tuple[Path, str]) -> None:
    tmp, url = home
    bad = VECTORS / "epcis" / "invalid-capture" / "ObjectEvent_with_non_standard_bizStep.json"
    broken = tmp / "broken.json"
    broken.write_text("{not json")
    result = run(tmp, "import", "epcis", str(bad), str(broken), "--party", "coop", url=url)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert "rejected: /epcisBody/eventList/0/bizStep" in lines[0]
    assert "rejected: /: not valid JSON" in lines[1]
    assert lines[-1] == "0 events recorded, 0 already recorded, 2 file(s) rejected"
    assert run(tmp, "verify", "--json", url=url).returncode == 0
    assert json.loads(run(tmp, "verify", "--json", url=url).stdout)["size"] == 0


def test_cli__import_needs_a_known_party(home: tuple[Path, str]) -> None:
    tmp, url = home
    result = run(tmp, "import", "epcis", str(GS1 / "Example_9.6.1-ObjectEvent.jsonld"), "--party", "ghost", url=url)
    assert result.returncode == 1 and result.stderr.startswith("error: no party 'ghost'")
