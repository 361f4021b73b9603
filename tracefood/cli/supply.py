"""Command-line registry, tokens, EPCIS import and export (added to ``tracefood`` by cli.py).

The operator at the command line acts as an admin (``cli``) in the registry's audit trail.
Imported events are recorded for a named party (``--party``), as its systems would capture them.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from tracefood.chain import records
from tracefood.chain.capture import EventStore
from tracefood.chain.export import export_document
from tracefood.chain.registry import OPERATOR, ROLES, Actor, Registry, public_view
from tracefood.epcis.events import parse_json_number
from tracefood.errors import TraceFoodError


def _obj() -> Any:
    return click.get_current_context().find_root().obj


def _registry() -> tuple[Any, Registry]:
    ledger = _obj().open_ledger(with_key=False)
    return ledger, Registry(ledger.engine)


def _print(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


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


def registry_group(entity: str, plural: str) -> click.Group:
    @click.group(name=entity, help=f"Create, update, show and list {plural} (registry).")
    def group() -> None:
        pass

    from tracefood.cli import handle_errors

    @group.command("create")
    @click.argument("fields", nargs=-1, required=True)
    @handle_errors
    def create(fields: tuple[str, ...]) -> None:
        """Create from FIELD=VALUE pairs, e.g. id=ferme-a name="Ferme A" country=CA."""
        ledger, reg = _registry()
        try:
            _print(public_view(entity, reg.create(entity, _parse_fields(fields), OPERATOR), OPERATOR))
        finally:
            ledger.close()

    @group.command("update")
    @click.argument("item_id")
    @click.argument("fields", nargs=-1, required=True)
    @handle_errors
    def update(item_id: str, fields: tuple[str, ...]) -> None:
        """Change fields of ITEM_ID (FIELD=VALUE pairs); the change is audited."""
        ledger, reg = _registry()
        try:
            _print(public_view(entity, reg.update(entity, item_id, _parse_fields(fields), OPERATOR), OPERATOR))
        finally:
            ledger.close()

    @group.command("show")
    @click.argument("item_id")
    @handle_errors
    def show(item_id: str) -> None:
        ledger, reg = _registry()
        try:
            _print(public_view(entity, reg.get(entity, item_id), OPERATOR))
        finally:
            ledger.close()

    @group.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @handle_errors
    def list_(as_json: bool) -> None:
        ledger, reg = _registry()
        try:
            rows = [public_view(entity, r, OPERATOR) for r in reg.list(entity)]
        finally:
            ledger.close()
        if as_json:
            _print(rows)
            return
        for r in rows:
            click.echo(f"{r['id']}\t{r.get('name') or r.get('description')}")

    return group


@click.group(help="API tokens: one per party and role; the secret is shown once.")
def token() -> None:
    pass


def _token_commands() -> None:
    from tracefood.cli import handle_errors

    @token.command("create")
    @click.option("--party", required=True, help="Party id the token acts for.")
    @click.option("--role", required=True, type=click.Choice(ROLES))
    @click.option("--label", default="", help="A name to recognise the token by.")
    @click.option("--json", "as_json", is_flag=True)
    @handle_errors
    def create(party: str, role: str, label: str, as_json: bool) -> None:
        """Create a token for PARTY with ROLE and print it (only its hash is stored)."""
        ledger, reg = _registry()
        try:
            secret, record = reg.create_token(party, role, OPERATOR, label)
        finally:
            ledger.close()
        if as_json:
            _print(record | {"token": secret})
        else:
            click.echo(secret)

    @token.command("revoke")
    @click.argument("token_id")
    @handle_errors
    def revoke(token_id: str) -> None:
        ledger, reg = _registry()
        try:
            reg.revoke_token(token_id, OPERATOR)
        finally:
            ledger.close()
        click.echo(f"revoked {token_id}")

    @token.command("list")
    @click.option("--party")
    @handle_errors
    def list_(party: str | None) -> None:
        ledger, reg = _registry()
        try:
            _print(reg.tokens(party))
        finally:
            ledger.close()


_token_commands()


@click.group(name="import", help="Import events from files.")
def import_() -> None:
    pass


@click.group(name="export", help="Export records.")
def export() -> None:
    pass


def _io_commands() -> None:
    from tracefood.cli import handle_errors

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
    def import_epcis(files: tuple[Path, ...], party: str, lenient: bool, as_json: bool) -> None:
        """Import EPCIS 2.0 JSON-LD documents (EPCISDocument or EPCISQueryDocument).

        Each file is one atomic capture: it lands whole or not at all. With --lenient, a
        document from another system is taken when its only defects are the ones listed in
        the README (each repair is printed and kept in the ledger entry).
        """
        ledger = _obj().open_ledger(with_key=False)
        reg = Registry(ledger.engine)
        reg.get("party", party)
        store = EventStore(ledger)
        actor = Actor("producer", party, "cli-import")
        results = []
        show = sys.stderr.isatty() and not as_json
        try:
            with click.progressbar(files, label="importing", file=sys.stderr) if show else _plain(files) as bar:
                for path in bar:
                    results.append(_import_one(store, actor, path, lenient))
        finally:
            ledger.close()
        accepted = sum(r["accepted"] for r in results)
        duplicates = sum(r["duplicates"] for r in results)
        rejected = [r for r in results if r["errors"]]
        summary = {"files": results, "accepted": accepted, "duplicates": duplicates, "rejected_files": len(rejected)}
        if as_json:
            _print(summary)
        else:
            for r in results:
                if r["errors"]:
                    click.echo(
                        f"{r['file']}: rejected: {r['errors'][0]['field']}: {r['errors'][0]['reason']}"
                        + (f" (+{len(r['errors']) - 1} more)" if len(r["errors"]) > 1 else "")
                    )
                else:
                    repaired = f", {len(r['repairs'])} repair(s)" if r["repairs"] else ""
                    click.echo(f"{r['file']}: {r['accepted']} new, {r['duplicates']} already recorded{repaired}")
                    for repair in r["repairs"][:5]:
                        click.echo(f"  repaired {repair['field']}: {repair['reason']}")
                    if len(r["repairs"]) > 5:
                        click.echo(f"  (+{len(r['repairs']) - 5} more repairs; --json lists them all)")
            click.echo(f"{accepted} events recorded, {duplicates} already recorded, {len(rejected)} file(s) rejected")
        if rejected:
            sys.exit(1)

    def scope_options(command: Any) -> Any:
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

    def _records(recall_id: str | None, lot_ids: tuple[str, ...], trace: str | None, since: str | None,
                 until: str | None) -> tuple[Any, list[dict[str, Any]]]:  # fmt: skip
        ledger = _obj().open_ledger(with_key=False)
        try:
            ids = records.lots_for(ledger.engine, recall_id=recall_id, ids=lot_ids, with_trace=trace)
            return ledger, records.rows(ledger.engine, ids, since, until)
        except BaseException:
            ledger.close()
            raise

    @export.command("epcis")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
    @scope_options
    @handle_errors
    def export_epcis(output: Path | None, recall_id: str | None, lot_ids: tuple[str, ...], trace: str | None,
                     since: str | None, until: str | None) -> None:  # fmt: skip
        """Export events as one EPCIS 2.0 JSON-LD EPCISDocument: every event, or those of a
        recall's lots or of the given lots (and their trace), in a date range."""
        if recall_id or lot_ids:
            ledger, rows = _records(recall_id, lot_ids, trace, since, until)
            seqs = records.event_seqs(rows, ledger.engine)
        else:
            ledger, seqs = _obj().open_ledger(with_key=False), None
        try:
            document = export_document(ledger.engine, seqs)
        finally:
            ledger.close()
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
    def export_fsma204(output: Path, fmt: str | None, recall_id: str | None, lot_ids: tuple[str, ...],
                       trace: str | None, since: str | None, until: str | None) -> None:  # fmt: skip
        """The FDA FSMA 204 electronic sortable spreadsheet (one row per event and lot, the key
        data elements as columns) for a recall or for lots, in a date range."""
        ledger, rows = _records(recall_id, lot_ids, trace, since, until)
        ledger.close()
        fmt = fmt or ("xlsx" if output.suffix.lower() == ".xlsx" else "csv")
        output.write_bytes(records.fsma204_xlsx(rows) if fmt == "xlsx" else records.fsma204_csv(rows))
        click.echo(f"{len(rows)} rows written to {output}", err=True)

    @export.command("cfia")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
    @scope_options
    @handle_errors
    def export_cfia(output: Path, recall_id: str | None, lot_ids: tuple[str, ...], trace: str | None,
                    since: str | None, until: str | None) -> None:  # fmt: skip
        """The CFIA one-step-back / one-step-forward file (CSV) for a recall or for lots."""
        ledger, rows = _records(recall_id, lot_ids, trace, since, until)
        ledger.close()
        output.write_bytes(records.cfia_csv(rows))
        click.echo(f"{len(records.cfia_rows(rows))} rows written to {output}", err=True)


class _plain:
    def __init__(self, items: Any) -> None:
        self.items = items

    def __enter__(self) -> Any:
        return self.items

    def __exit__(self, *exc: object) -> None:
        return None


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


_io_commands()

COMMANDS = [
    registry_group("party", "parties"),
    registry_group("location", "locations"),
    registry_group("product", "products"),
    token,
    import_,
    export,
]
