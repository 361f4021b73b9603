"""``tracefood init``, ``verify`` and ``checkpoint``: the ledger itself, its keys and schema."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from tracefood import schema
from tracefood.cli.common import echo_json, fail, handle_errors, pass_instance
from tracefood.errors import NoteError
from tracefood.instance import Instance
from tracefood.labels import ledger_audit
from tracefood.ledger import Ledger
from tracefood.ledger.note import Verifier, split_note
from tracefood.ledger.verify import Report


@click.command()
@click.option("--origin", help="Checkpoint origin / key name for a new key (default: TRACEFOOD_LEDGER_ORIGIN).")
@handle_errors
@pass_instance
def init(instance: Instance, origin: str | None) -> None:
    """Create or upgrade the database schema and the ledger key (safe to run again)."""
    engine = instance.new_engine()
    try:
        before = schema.current_revision(engine)
        schema.upgrade(engine)
        after = schema.current_revision(engine)
    finally:
        engine.dispose()
    signer, created = instance.ensure_ledger_key(origin)
    url = _safe_url(instance.settings.database_url)
    if before == after:
        click.echo(f"database: {url} (schema {after}, up to date)")
    else:
        click.echo(f"database: {url} (schema {before or 'empty'} -> {after})")
    click.echo(f"ledger key: {instance.settings.ledger_key_file} ({'created' if created else 'existing'})")
    click.echo(f"verifier key: {signer.verifier.encode()}")
    for made in instance.ensure_other_keys():
        click.echo(f"{made.what}: {made.path} ({'created' if made.created else 'existing'})")
    # Readers never sign: a new ledger gets its first checkpoint (size 0) here.
    instance.signing_ledger().checkpoints.sign()


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--against",
    "against",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A signed checkpoint you hold (repeatable); the ledger must still contain it.",
)
@click.option(
    "--key",
    "key",
    help="The ledger's verifier key (name+id+base64, or a file holding it): verify without the signing key.",
)
@click.option(
    "--projections",
    is_flag=True,
    help="Also rebuild the lot projections from the ledger and report any difference.",
)
@click.option(
    "--rebuild",
    "replace",
    is_flag=True,
    help="With --projections: when the ledger verifies, replace the stored projections with the rebuilt ones.",
)
@handle_errors
@pass_instance
def verify(
    instance: Instance, as_json: bool, against: tuple[Path, ...], key: str | None, projections: bool, replace: bool
) -> None:
    """Verify every entry, link, Merkle node and checkpoint, and the label keys and issuances
    against their ledger entries; exit 1 on any finding."""
    if replace and not projections:
        raise click.UsageError("--rebuild goes with --projections")
    held = [_read_checkpoint_file(p) for p in against]
    verifier = _read_verifier(key) if key else None
    ledger = instance.ledger if verifier is not None else instance.signing_ledger()
    report = _verify(ledger, held, verifier, progress=not as_json and sys.stderr.isatty())
    differences: list[dict[str, Any]] = []
    if projections:
        from tracefood.chain.rebuild import rebuild

        differences = rebuild(ledger.engine, commit=replace and report.ok).differences
    rebuilt = replace and report.ok
    ok = report.ok and (rebuilt or not differences)
    if as_json:
        out = report.to_json()
        if projections:
            out["projections"] = {"ok": not differences, "differences": differences, "rebuilt": rebuilt}
            out["ok"] = ok
        echo_json(out, pretty=False)
    else:
        _print_report(report, differences if projections else None, rebuilt)
    sys.exit(0 if ok else 1)


def _verify(ledger: Ledger, held: list[str], verifier: Verifier | None, *, progress: bool) -> Report:
    checks = (ledger_audit.check,)
    if not progress:
        return ledger.verify(held, verifier=verifier, checks=checks)
    with click.progressbar(length=ledger.size(), label="verifying", file=sys.stderr) as bar:
        done = [0]

        def advance(n: int) -> None:
            bar.update(n - done[0])
            done[0] = n

        return ledger.verify(held, progress=advance, verifier=verifier, checks=checks)


def _print_report(report: Report, differences: list[dict[str, Any]] | None, rebuilt: bool) -> None:
    """The human report: projection differences (if asked for), findings, then the summary."""
    for d in differences or []:
        click.echo(f"-\t{d['code']}\t{d['table']}: {d['row']}")
    if differences is not None:
        found = "ok" if not differences else f"{len(differences)} difference(s)"
        click.echo(
            f"projections: {found}" + (", replaced by the rebuilt ones" if rebuilt and differences else ""),
            err=bool(differences) and not rebuilt,
        )
    for f in report.findings:
        where = "-" if f.seq is None else str(f.seq)
        click.echo(f"{where}\t{f.code}\t{f.message}")
    status = "ok" if report.ok else f"{len(report.findings)} finding(s)"
    click.echo(
        f"{status}: {report.size} entries, {report.checkpoints_checked} checkpoint(s) checked",
        err=not report.ok,
    )


def _read_verifier(key: str) -> Verifier:
    text = key
    if not key.count("+") >= 2 or Path(key).is_file():
        try:
            text = Path(key).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read verifier key {key}: {exc}")
    try:
        return Verifier.parse(text)
    except NoteError as exc:
        fail(f"not a verifier key: {exc}")


def _read_checkpoint_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"checkpoint file {path} does not exist")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read checkpoint file {path}: {exc}")
    try:
        split_note(text)
    except NoteError as exc:
        fail(f"{path} is not a signed checkpoint: {exc}")
    return text


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print size, root and note as JSON.")
@handle_errors
@pass_instance
def checkpoint(instance: Instance, as_json: bool) -> None:
    """Print the latest signed checkpoint (signing one if writes without the key grew the ledger)."""
    cp = instance.signing_ledger().checkpoints.sign()
    if as_json:
        root = base64.b64encode(cp.checkpoint.root).decode()
        echo_json({"origin": cp.checkpoint.origin, "size": cp.size, "root": root, "note": cp.note}, pretty=False)
    else:
        click.echo(cp.note, nl=False)


COMMANDS = (init, verify, checkpoint)
