"""The ``tracefood`` command line (also ``python -m tracefood``).

Exit codes: 0 ok, 1 findings or errors, 2 usage. Machine output (``--json``) goes to stdout,
diagnostics to stderr; a failure is one line, a traceback only with ``--verbose``.

One module per command group (ledger, serve, labels, supply, trace), sharing ``common``;
this module only defines the ``tracefood`` group and adds their commands.
"""

from __future__ import annotations

import click

from tracefood import __version__
from tracefood.cli import labels, ledger, serve, supply, trace
from tracefood.cli.common import Context


@click.group()
@click.version_option(__version__, prog_name="tracefood")
@click.option("--verbose", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """TraceFood: a tamper-evident agri-food traceability ledger."""
    ctx.obj = Context(verbose)
    ctx.call_on_close(ctx.obj.close)


for _command in (*ledger.COMMANDS, *serve.COMMANDS, *supply.COMMANDS, *labels.COMMANDS, *trace.COMMANDS):
    main.add_command(_command)
