"""``tracefood trace ID --direction back|forward [--json]``."""

from __future__ import annotations

import click

from tracefood.chain import trace
from tracefood.cli.common import echo_json, handle_errors, pass_instance
from tracefood.instance import Instance


@click.command(name="trace")
@click.argument("identifier", metavar="ID")
@click.option("--direction", type=click.Choice(trace.DIRECTIONS), required=True)
@click.option("--limit", type=click.IntRange(1, trace.MAX_LIMIT), default=trace.DEFAULT_LIMIT, show_default=True,
              help="Lots and events per page.")  # fmt: skip
@click.option("--page-token", help="The next_page_token of the previous page.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole answer as JSON.")
@handle_errors
@pass_instance
def trace_command(instance: Instance, identifier: str, direction: str, limit: int, page_token: str | None,
                  as_json: bool) -> None:  # fmt: skip
    """Trace a lot, item or SSCC back to its sources or forward to every lot made from it,
    every container it travelled in and everyone who holds it now."""
    result = trace.trace(instance.ledger.engine, identifier, direction, limit=limit, page_token=page_token)
    if as_json:
        echo_json(result)
        return
    counts = result["counts"]
    click.echo(
        f"trace {direction} from {result['id']}: {counts['lots']} lots, {counts['containers']} containers, "
        f"{counts['events']} events, {len(result['parties'])} parties"
    )
    for lot in result["lots"]:
        click.echo(f"  lot        {lot}")
    for container in result["containers"]:
        click.echo(f"  container  {container}")
    for h in result["holders"]:
        click.echo(f"  holder     {h['party']} at {h['location']}: {h['quantity']} {h['unit'] or ''} of {h['lot']}")
    for s in result["in_transit"]:
        click.echo(f"  in transit {s['quantity']} {s['unit'] or ''} of {s['lot']} to {s['to_party'] or s['to']}")
    if result["next_page_token"]:
        click.echo(f"more: --page-token {result['next_page_token']}")


COMMANDS = (trace_command,)
