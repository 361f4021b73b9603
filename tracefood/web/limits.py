"""Throttling token guesses (issue 12), with Flask-Limiter counting per client address.

Two limits, both counting failures only, so that the ordinary traffic of a client that holds a
good token is never slowed:

- ``AUTH_RATE_LIMIT``: requests that carry an ``Authorization`` header and are refused 401
  (unknown, revoked, malformed token), counted across every route. Once a client is past it,
  every request of that client *with* a token answers 429 before the token is even looked at,
  a good one included: otherwise the answer to a guess would still tell a good token from a bad
  one. Requests without a token are not counted (they guess nothing).
- ``SIGN_IN_RATE_LIMIT``: refused sign-ins (``POST /sign-in`` answered other than 303), per client
  address; past it the form answers 429 as a page, in the visitor's language.

Every 429 carries ``Retry-After`` (seconds until the window lets one more through) and is a
problem+json under /api and /epcis. The counts live in memory (``memory://``): waitress serves
one process; ``serve --workers N`` gives each worker its own counts, so a client gets at most N
times the limit. The client address is the connection's (``REMOTE_ADDR``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, request
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter.util import get_remote_address
from werkzeug.sansio.response import Response as BaseResponse

from tracefood.config import Settings
from tracefood.errors import PROBLEM_BASE
from tracefood.web import problems

_KEY = "tracefood.limiter"
SIGN_IN = "pages.sign_in"


def init_app(app: Flask, settings: Settings) -> Limiter:
    """Bind a limiter of its own to ``app`` (each app counts apart: tests build many)."""
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri="memory://",
        strategy="moving-window",
        application_limits=[settings.auth_rate_limit],
        application_limits_exempt_when=lambda: "Authorization" not in request.headers,
        application_limits_deduct_when=lambda response: response.status_code == 401,
    )
    app.extensions[_KEY] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter


def limit_sign_in(
    limiter: Limiter, blueprint: Blueprint, rate: str, page: Callable[[int], Response] | None = None
) -> None:
    """Count refused sign-ins (``POST`` to :data:`SIGN_IN` in ``blueprint``) against ``rate``;
    ``page(retry_after)`` renders the 429 shown to browsers instead of a problem."""

    def breached(_limit: RequestLimit) -> Response | None:
        return None if page is None or problems.wants_problem() else page(retry_after())

    limiter.limit(
        rate,
        methods=["POST"],
        exempt_when=lambda: request.endpoint != SIGN_IN,
        deduct_when=lambda response: response.status_code != 303,
        on_breach=breached,
    )(blueprint)


def retry_after() -> int:
    """Whole seconds until the limit this request broke lets one more request through."""
    limiter: Limiter = current_app.extensions[_KEY]
    current = limiter.current_limit
    if current is None:
        return 1
    return max(1, math.ceil(current.window.reset_time - time.time()))


def _too_many(exc: RateLimitExceeded) -> BaseResponse:
    seconds = retry_after()
    response: BaseResponse | None = exc.response
    if response is None:
        response = problems.render(
            {
                "type": PROBLEM_BASE + "too-many-requests",
                "title": "Too many requests",
                "status": 429,
                "detail": f"too many failed attempts from this address: try again in {seconds} seconds",
                "instance": request.path,
                "errors": [
                    {
                        "field": "token" if request.endpoint == SIGN_IN else "Authorization",
                        "reason": "too many failed attempts",
                    }
                ],
            }
        )
    response.headers["Retry-After"] = str(seconds)
    return response
