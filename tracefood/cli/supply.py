"""Command-line registry, tokens, EPCIS import and export.

The operator at the command line acts as an admin (``cli``) in the registry's audit trail.
Imported events are recorded for a named party (``--party``), as its systems would capture them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click

from tracefood.chain import records
from tracefood.chain.capture import EventStore
from tracefood.chain.export import export_document
from tracefood.chain.registry import OPERATOR, ROLES, Actor, Registry, public_view
from tracefood.cli.common import echo_json, handle_errors, pass_instance
from tracefood.epcis.events import parse_json_number
from tracefood.errors import TraceFoodError
from tracefood.instance import Instance

T = TypeVar("T")


def _parse_fields(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``name=value`` pairs; a value that parses as JSON (true, {"a":1}) is taken as JSON."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.UsageError(f"expected FIELD=VALUE, got {pair!r}")
        try:
            parsed = json.loads(value, parse_float=Decimal)
            out[name] = parsed if not isinstance(parsed, int | Decimal) else value
        except ValueError:
            out[name] = value
    return out


# -- the registry: party, location and product share their four commands -------------------------


def _registry(instance: Instance) -> tuple[str, Registry]:
    """(the entity of the group being run: party, location or product, the registry)."""
    group = click.get_current_context().parent
    assert group is not None and group.command.name is not None  # commands run under their group
    return group.command.name, Registry(instance.ledger.engine)


@click.command("create")
@click.argument("fields", nargs=-1, required=True)
@handle_errors
@pass_instance
def create(instance: Instance, fields: tuple[str, ...]) -> None:
    """Create from FIELD=VALUE pairs, e.g. id=ferme-a name="Ferme A" country=CA."""
    entity, reg = _registry(instance)
    echo_json(public_view(entity, reg.create(entity, _parse_fields(fields), OPERATOR), OPERATOR))


@click.command("update")
@click.argument("item_id")
@click.argument("fields", nargs=-1, required=True)
@handle_errors
@pass_instance
def update(instance: Instance, item_id: str, fields: tuple[str, ...]) -> None:
    """Change fields of ITEM_ID (FIELD=VALUE pairs); the change is audited."""
    entity, reg = _registry(instance)
    echo_json(public_view(entity, reg.update(entity, item_id, _parse_fields(fields), OPERATOR), OPERATOR))


@click.command("show")
@click.argument("item_id")
@handle_errors
@pass_instance
def show(instance: Instance, item_id: str) -> None:
    entity, reg = _registry(instance)
    echo_json(public_view(entity, reg.get(entity, item_id), OPERATOR))


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@handle_errors
@pass_instance
def list_(instance: Instance, as_json: bool) -> None:
    entity, reg = _registry(instance)
    rows = [public_view(entity, r, OPERATOR) for r in reg.list(entity)]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['id']}\t{r.get('name') or r.get('description')}")


def registry_group(entity: str, plural: str) -> click.Group:
    return click.Group(
        name=entity,
        help=f"Create, update, show and list {plural} (registry).",
        commands=[create, update, show, list_],
    )


# -- API tokens ------------------------------------------------------------------------------------


@click.group(help="API tokens: one per party and role; the secret is shown once.")
def token() -> None:
    pass


@token.command("create")
@click.option("--party", required=True, help="Party id the token acts for.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--label", default="", help="A name to recognise the token by.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
@pass_instance
def create_token(instance: Instance, party: str, role: str, label: str, as_json: bool) -> None:
    """Create a token for PARTY with ROLE and print it (only its hash is stored)."""
    secret, record = Registry(instance.ledger.engine).create_token(party, role, OPERATOR, label)
    if as_json:
        echo_json(record | {"token": secret})
    else:
        click.echo(secret)


@token.command("revoke")
@click.argument("token_id")
@handle_errors
@pass_instance
def revoke_token(instance: Instance, token_id: str) -> None:
    Registry(instance.ledger.engine).revoke_token(token_id, OPERATOR)
    click.echo(f"revoked {token_id}")


@token.command("list")
@click.option("--party")
@handle_errors
@pass_instance
def list_tokens(instance: Instance, party: str | None) -> None:
    echo_json(Registry(instance.ledger.engine).tokens(party))


# -- import ----------------------------------------------------------------------------------------


@click.group(name="import", help="Import events from files.")
def import_() -> None:
    pass


@import_.command("epcis")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--party", required=True, help="The party whose events these are.")
@click.option(
    "--lenient",
    is_flag=True,
    help="Repair the known defects of other systems' exports (listed in the README) and say what was repaired.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@handle_errors
@pass_instance
def import_epcis(instance: Instance, files: tuple[Path, ...], party: str, lenient: bool, as_json: bool) -> None:
    """Import EPCIS 2.0 JSON-LD documents (EPCISDocument or EPCISQueryDocument).

    Each file is one atomic capture: it lands whole or not at all. With --lenient, a
    document from another system is taken when its only defects are the ones listed in
    the README (each repair is printed and kept in the ledger entry).
    """
    ledger = instance.ledger
    Registry(ledger.engine).get("party", party)
    store = EventStore(ledger)
    actor = Actor("producer", party, "cli-import")
    with _progress(files, "importing", show=sys.stderr.isatty() and not as_json) as bar:
        results = [_import_one(store, actor, path, lenient) for path in bar]
    accepted = sum(r["accepted"] for r in results)
    duplicates = sum(r["duplicates"] for r in results)
    rejected = [r for r in results if r["errors"]]
    if as_json:
        echo_json({"files": results, "accepted": accepted, "duplicates": duplicates, "rejected_files": len(rejected)})
    else:
        for r in results:
            _print_import(r)
        click.echo(f"{accepted} events recorded, {duplicates} already recorded, {len(rejected)} file(s) rejected")
    if rejected:
        sys.exit(1)


@contextmanager
def _progress(items: Iterable[T], label: str, *, show: bool) -> Iterator[Iterable[T]]:
    if not show:
        yield items
        return
    with click.progressbar(items, label=label, file=sys.stderr) as bar:
        yield bar


def _print_import(r: dict[str, Any]) -> None:
    if r["errors"]:
        more = f" (+{len(r['errors']) - 1} more)" if len(r["errors"]) > 1 else ""
        click.echo(f"{r['file']}: rejected: {r['errors'][0]['field']}: {r['errors'][0]['reason']}" + more)
        return
    repaired = f", {len(r['repairs'])} repair(s)" if r["repairs"] else ""
    click.echo(f"{r['file']}: {r['accepted']} new, {r['duplicates']} already recorded{repaired}")
    for repair in r["repairs"][:5]:
        click.echo(f"  repaired {repair['field']}: {repair['reason']}")
    if len(r["repairs"]) > 5:
        click.echo(f"  (+{len(r['repairs']) - 5} more repairs; --json lists them all)")


def _import_one(store: EventStore, actor: Actor, path: Path, lenient: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"file": str(path), "accepted": 0, "duplicates": 0, "errors": [], "repairs": []}
    try:
        raw = path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # tolerate a UTF-8 byte order mark
        document = json.loads(raw, parse_float=parse_json_number)
    except (ValueError, UnicodeDecodeError) as exc:
        result["errors"] = [{"field": "/", "reason": f"not valid JSON: {exc}"}]
        return result
    except RecursionError:
        result["errors"] = [{"field": "/", "reason": "not valid JSON: nested too deeply"}]
        return result
    try:
        receipts, result["repairs"] = store.import_document(document, actor, lenient=lenient)
    except TraceFoodError as exc:
        result["errors"] = exc.errors or [{"field": "/", "reason": exc.detail}]
        return result
    result["accepted"] = len({r.seq for r in receipts if r.created})  # an event twice in one file: once
    result["duplicates"] = len(receipts) - result["accepted"]
    return result


# -- export ----------------------------------------------------------------------------------------


@click.group(name="export", help="Export records.")
def export() -> None:
    pass


def scope_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose what a regulator's file covers."""
    for option in reversed(
        [
            click.option("--recall", "recall_id", help="A recall's lots (its id, e.g. R-2026-0001)."),
            click.option("--lot", "lot_ids", multiple=True, help="A lot, item or SSCC (repeat for more)."),
            click.option("--trace", type=click.Choice(["back", "forward"]), help="Also the lots' trace."),
            click.option("--from", "since", help="From this date (YYYY-MM-DD)."),
            click.option("--to", "until", help="To this date, included (YYYY-MM-DD)."),
        ]
    ):
        command = option(command)
    return command


def _records(instance: Instance, recall_id: str | None, lot_ids: tuple[str, ...], trace: str | None,
             since: str | None, until: str | None) -> list[dict[str, Any]]:  # fmt: skip
    engine = instance.ledger.engine
    ids = records.lots_for(engine, recall_id=recall_id, ids=lot_ids, with_trace=trace)
    return records.rows(engine, ids, since, until)


@export.command("epcis")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@scope_options
@handle_errors
@pass_instance
def export_epcis(instance: Instance, output: Path | None, recall_id: str | None, lot_ids: tuple[str, ...],
                 trace: str | None, since: str | None, until: str | None) -> None:  # fmt: skip
    """Export events as one EPCIS 2.0 JSON-LD EPCISDocument: every event, or those of a
    recall's lots or of the given lots (and their trace), in a date range."""
    engine = instance.ledger.engine
    seqs = None
    if recall_id or lot_ids:
        seqs = records.event_seqs(_records(instance, recall_id, lot_ids, trace, since, until), engine)
    document = export_document(engine, seqs)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"{len(document['epcisBody']['eventList'])} events written to {output}", err=True)


@export.command("fsma204")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), help="Default: from -o's extension, else csv.")
@scope_options
@handle_errors
@pass_instance
def export_fsma204(instance: Instance, output: Path, fmt: str | None, recall_id: str | None,
                   lot_ids: tuple[str, ...], trace: str | None, since: str | None,
                   until: str | None) -> None:  # fmt: skip
    """The FDA FSMA 204 electronic sortable spreadsheet (one row per event and lot, the key
    data elements as columns) for a recall or for lots, in a date range."""
    rows = _records(instance, recall_id, lot_ids, trace, since, until)
    fmt = fmt or ("xlsx" if output.suffix.lower() == ".xlsx" else "csv")
    output.write_bytes(records.fsma204_xlsx(rows) if fmt == "xlsx" else records.fsma204_csv(rows))
    click.echo(f"{len(rows)} rows written to {output}", err=True)


@export.command("cfia")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@scope_options
@handle_errors
@pass_instance
def export_cfia(instance: Instance, output: Path, recall_id: str | None, lot_ids: tuple[str, ...],
                trace: str | None, since: str | None, until: str | None) -> None:  # fmt: skip
    """The CFIA one-step-back / one-step-forward file (CSV) for a recall or for lots."""
    rows = _records(instance, recall_id, lot_ids, trace, since, until)
    output.write_bytes(records.cfia_csv(rows))
    click.echo(f"{len(records.cfia_rows(rows))} rows written to {output}", err=True)


COMMANDS = (
    registry_group("party", "parties"),
    registry_group("location", "locations"),
    registry_group("product", "products"),
    token,
    import_,
    export,
)
