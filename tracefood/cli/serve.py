"""``tracefood serve`` and ``tracefood demo``: the web app under a production WSGI server."""

from __future__ import annotations

import contextlib
import dataclasses

import click

from tracefood import config
from tracefood.cli.common import handle_errors, pass_instance
from tracefood.cli.ledger import init
from tracefood.config import Settings
from tracefood.errors import NotInitialised
from tracefood.instance import Instance


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per worker process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@handle_errors
@pass_instance
def serve(instance: Instance, host: str, port: int, threads: int, workers: int) -> None:
    """Serve the web app with a production WSGI server (waitress)."""
    run_server(instance, host, port, threads, workers)


def run_server(instance: Instance, host: str, port: int, threads: int, workers: int = 1) -> None:
    """Serve ``instance``'s settings: checked already, and the key files too, here, before any
    worker starts (each worker builds its own app: pools are never shared across a fork)."""
    from tracefood.web.app import create_app
    from tracefood.web.server import serve as serve_app

    settings = instance.settings
    instance.check_ledger_key()
    if settings.ledger_key_file.exists():
        # Readers never sign: entries appended without the key get their checkpoint now. An
        # uninitialised database is served anyway (every route answers "run `tracefood init`").
        with contextlib.suppress(NotInitialised):
            instance.signing_ledger().checkpoints.sign()
    _ = instance.secret_key  # made (or refused) once, so every worker reads the same one
    instance.close()
    click.echo(f"serving on http://{host}:{port}/ with {workers} worker(s) (Ctrl-C to stop)", err=True)
    serve_app(lambda: create_app(settings), host, port, threads=threads, workers=workers)


@click.command()
@click.option("--no-serve", is_flag=True, help="Load the demo data and exit.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@handle_errors
@pass_instance
def demo(instance: Instance, no_serve: bool, host: str, port: int) -> None:
    """Initialise the default database, load the demo ledger, and serve the web app."""
    from tracefood.demo.chain import demo_labels, load_demo

    click.get_current_context().invoke(init)
    base = f"http://{host}:{port}"
    settings = _served_at(instance.settings, base)
    demo_instance = Instance(settings)
    try:
        ledger = demo_instance.signing_ledger()
        result = load_demo(ledger, settings.home)
        labels = demo_labels(ledger, demo_instance.label_keys, settings.public_url)
        cp = ledger.checkpoints.sign()
    finally:
        demo_instance.close()
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
        run_server(demo_instance, host, port, 8)


def _served_at(settings: Settings, base: str) -> Settings:
    """Labels must open the app being served: the demo's address, unless PUBLIC_URL is set."""
    if settings.public_url != config.default_of("PUBLIC_URL"):
        return settings
    return dataclasses.replace(settings, public_url=base)


COMMANDS = (serve, demo)
