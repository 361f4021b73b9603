"""The ``tracefood`` command line (also ``python -m tracefood``).

Exit codes: 0 ok, 1 findings or errors, 2 usage. Machine output (``--json``) goes to stdout,
diagnostics to stderr; a failure is one line, a traceback only with ``--verbose``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from tracefood import __version__, schema
from tracefood import config as tf_config
from tracefood.errors import TraceFoodError
from tracefood.labels.store import ensure_master
from tracefood.ledger import Ledger, db
from tracefood.ledger.keys import ensure_key
from tracefood.ledger.note import NoteError, Verifier, split_note

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self._settings: dict[str, Any] | None = None

    @property
    def settings(self) -> dict[str, Any]:
        if self._settings is None:
            self._settings = tf_config.load()
        return self._settings

    def open_ledger(self, *, with_key: bool = True) -> Ledger:
        s = self.settings
        return Ledger.open(
            s["DATABASE_URL"],
            key_file=s["LEDGER_KEY_FILE"] if with_key else None,
            sqlite_synchronous=s["SQLITE_SYNCHRONOUS"],
        )


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def handle_errors(func: F) -> F:
    """Turn expected failures into one line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        verbose = ctx.find_object(Context).verbose if ctx.find_object(Context) else False
        try:
            return func(*args, **kwargs)
        except TraceFoodError as exc:
            if verbose:
                raise
            fail(exc.detail)
        except SQLAlchemyError as exc:
            if verbose:
                raise
            first = str(exc.orig if getattr(exc, "orig", None) else exc).strip().splitlines()[0]
            if "no such table" in first or "does not exist" in first:
                fail("the database has no ledger yet: run `tracefood init`")
            fail(f"database error: {first}")
        except OSError as exc:
            if verbose:
                raise
            fail(str(exc))
        except click.ClickException:
            raise  # usage errors: click prints them and exits 2
        except Exception as exc:  # never a traceback without --verbose
            if verbose:
                raise
            fail(f"unexpected {type(exc).__name__}: {exc} (run with --verbose for details)")

    return wrapper  # type: ignore[return-value]


@click.group()
@click.version_option(__version__, prog_name="tracefood")
@click.option("--verbose", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """TraceFood: a tamper-evident agri-food traceability ledger."""
    ctx.obj = Context(verbose)


@main.command()
@click.option("--origin", help="Checkpoint origin / key name for a new key (default: TRACEFOOD_LEDGER_ORIGIN).")
@click.pass_obj
@handle_errors
def init(obj: Context, origin: str | None) -> None:
    """Create or upgrade the database schema and the ledger key (safe to run again)."""
    s = obj.settings
    engine = db.make_engine(s["DATABASE_URL"], sqlite_synchronous=s["SQLITE_SYNCHRONOUS"])
    try:
        before = schema.current_revision(engine)
        schema.upgrade(engine)
        after = schema.current_revision(engine)
    finally:
        engine.dispose()
    signer, created = ensure_key(Path(s["LEDGER_KEY_FILE"]), origin or s["LEDGER_ORIGIN"])
    if before == after:
        click.echo(f"database: {_safe_url(s['DATABASE_URL'])} (schema {after}, up to date)")
    else:
        click.echo(f"database: {_safe_url(s['DATABASE_URL'])} (schema {before or 'empty'} -> {after})")
    state = "created" if created else "existing"
    click.echo(f"ledger key: {s['LEDGER_KEY_FILE']} ({state})")
    click.echo(f"verifier key: {signer.verifier.encode()}")
    if not s["LABEL_MASTER_KEY"]:
        made = ensure_master(Path(s["LABEL_MASTER_KEY_FILE"]))
        click.echo(f"label master key: {s['LABEL_MASTER_KEY_FILE']} ({'created' if made else 'existing'})")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command()
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
@click.pass_obj
@handle_errors
def verify(
    obj: Context, as_json: bool, against: tuple[Path, ...], key: str | None, projections: bool, replace: bool
) -> None:
    """Verify every entry, link, Merkle node and checkpoint; exit 1 on any finding."""
    if replace and not projections:
        raise click.UsageError("--rebuild goes with --projections")
    held = [_read_checkpoint_file(p) for p in against]
    verifier = _read_verifier(key) if key else None
    ledger = obj.open_ledger(with_key=verifier is None)
    show_progress = not as_json and sys.stderr.isatty()
    bar_total = ledger.size() if show_progress else 0
    if show_progress:
        with click.progressbar(length=bar_total, label="verifying", file=sys.stderr) as bar:
            done = [0]

            def progress(n: int) -> None:
                bar.update(n - done[0])
                done[0] = n

            report = ledger.verify(held, progress=progress, verifier=verifier)
    else:
        report = ledger.verify(held, verifier=verifier)
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
        click.echo(json.dumps(out, default=str))
    else:
        for d in differences:
            click.echo(f"-\t{d['code']}\t{d['table']}: {d['row']}")
        if projections:
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
    sys.exit(0 if ok else 1)


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
    raise AssertionError("unreachable")


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


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print size, root and note as JSON.")
@click.pass_obj
@handle_errors
def checkpoint(obj: Context, as_json: bool) -> None:
    """Print the latest signed checkpoint (signing a new one if the ledger grew)."""
    cp = obj.open_ledger().checkpoint()
    if as_json:
        import base64

        click.echo(
            json.dumps(
                {
                    "origin": cp.checkpoint.origin,
                    "size": cp.size,
                    "root": base64.b64encode(cp.checkpoint.root).decode(),
                    "note": cp.note,
                }
            )
        )
    else:
        click.echo(cp.note, nl=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.pass_obj
@handle_errors
def serve(obj: Context, host: str, port: int, threads: int, workers: int) -> None:
    """Serve the web app with a production WSGI server (waitress)."""
    _serve(obj, host, port, threads, workers)


def _serve(obj: Context, host: str, port: int, threads: int, workers: int = 1) -> None:
    from tracefood.web.app import create_app
    from tracefood.web.server import serve as run_server

    click.echo(f"serving on http://{host}:{port}/ with {workers} worker(s) (Ctrl-C to stop)", err=True)
    run_server(create_app, host, port, threads=threads, workers=workers)


@main.command()
@click.option("--no-serve", is_flag=True, help="Load the demo data and exit.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.pass_obj
@handle_errors
def demo(obj: Context, no_serve: bool, host: str, port: int) -> None:
    """Initialise the default database, load the demo ledger, and serve the web app."""
    from tracefood.demo.chain import demo_labels, load_demo
    from tracefood.labels.store import LabelKeys, load_master

    ctx = click.get_current_context()
    ctx.invoke(init)
    s = obj.settings
    base = f"http://{host}:{port}"
    if s["PUBLIC_URL"] == tf_config.default_of("PUBLIC_URL"):
        # labels must open the app being served; a configured PUBLIC_URL wins
        s["PUBLIC_URL"] = base
        os.environ[tf_config.ENV_PREFIX + "PUBLIC_URL"] = base
    ledger = obj.open_ledger()
    try:
        result = load_demo(ledger, Path(s["HOME"]))
        master = load_master(s["LABEL_MASTER_KEY"], Path(s["LABEL_MASTER_KEY_FILE"]))
        labels = demo_labels(ledger, LabelKeys(ledger.engine, master), s["PUBLIC_URL"])
        cp = ledger.checkpoint()
    finally:
        ledger.close()
    click.echo(f"demo: {result.appended} events recorded, {result.existing} already present (ledger size {cp.size})")
    click.echo("open:")
    click.echo(f"  {base}/            sign in with a token below (producer pages, French and English)")
    click.echo(f"  {base}/api/v1/openapi.json")
    click.echo(f"  {base}/api/v1/ledger/checkpoint")
    click.echo("signed labels (open on a phone, or: tracefood label verify URL):")
    for url, what in labels:
        click.echo(f"  {what}:\n    {url}")
    click.echo("tokens (Authorization: Bearer ...; also the sign-in form):")
    for name, token in result.tokens.items():
        click.echo(f"  {name:38} {token}")
    click.echo("try:")
    producer = result.tokens.get("salades-richelieu:producer", "")
    click.echo(f'  curl -H "Authorization: Bearer {producer}" {base}/api/v1/lots')
    if not no_serve:
        _serve(obj, host, port, 8)


if __name__ == "__main__":  # pragma: no cover
    main()


def _add_supply_commands() -> None:
    from tracefood.cli.labels import COMMANDS as LABEL_COMMANDS
    from tracefood.cli.supply import COMMANDS
    from tracefood.cli.trace import COMMANDS as TRACE_COMMANDS

    for command in (*COMMANDS, *LABEL_COMMANDS, *TRACE_COMMANDS):
        main.add_command(command)


_add_supply_commands()
