"""What every command module of the CLI shares: the per-run context holding the instance,
one-line errors, and JSON output.

Each command group lives in its own module (ledger, serve, labels, supply, trace) and imports
from here; ``tracefood.cli`` only assembles them, so no module imports its own package.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, Concatenate, NoReturn, ParamSpec, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from tracefood.config import load_settings
from tracefood.errors import TraceFoodError
from tracefood.instance import Instance

P = ParamSpec("P")
R = TypeVar("R")


class Context:
    """One run of ``tracefood``: --verbose, and the instance built from the checked settings."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self._instance: Instance | None = None

    @property
    def instance(self) -> Instance:
        if self._instance is None:
            self._instance = Instance(load_settings())
        return self._instance

    def close(self) -> None:
        if self._instance is not None:
            self._instance.close()


def context() -> Context:
    found = click.get_current_context().find_object(Context)
    return found if found is not None else Context(verbose=False)


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        verbose = context().verbose
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise  # usage errors: click prints them and exits 2
        except Exception as exc:
            if verbose:
                raise
            fail(_one_line(exc))

    return wrapper


def _one_line(exc: Exception) -> str:
    if isinstance(exc, TraceFoodError):
        return exc.detail
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        first = str(orig or exc).strip().splitlines()[0]
        if "no such table" in first or "does not exist" in first:
            return "the database has no ledger yet: run `tracefood init`"
        return f"database error: {first}"
    if isinstance(exc, OSError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc} (run with --verbose for details)"  # never a traceback


def pass_instance(func: Callable[Concatenate[Instance, P], R]) -> Callable[P, R]:
    """Give the command this run's instance first; the settings are loaded and checked here,
    so a bad setting stops every command before it does anything (under handle_errors)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return func(context().instance, *args, **kwargs)

    return wrapper


def echo_json(value: Any, *, pretty: bool = True) -> None:
    """Machine output on stdout: indented UTF-8 JSON, or one compact ASCII line."""
    if pretty:
        click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(json.dumps(value, default=str))
