"""Flask app factory. No module-level app: ``flask --app tracefood.web.app run`` and tests both
call :func:`create_app`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, request

from tracefood import __version__
from tracefood.config import Settings, load_settings
from tracefood.errors import InvalidParameter
from tracefood.instance import Instance
from tracefood.web import ledger_ext, limits, problems
from tracefood.web.api.epcis import epcis
from tracefood.web.api.events import MAX_BODY, events_api
from tracefood.web.api.labels import labels_api
from tracefood.web.api.ledger import api
from tracefood.web.api.trace import trace_api
from tracefood.web.pages import inspector as _inspect  # noqa: F401  (adds the label pages to `pages`)
from tracefood.web.pages import recall as _recall_pages  # noqa: F401  (adds the recall pages to `pages`)
from tracefood.web.pages import session as session_pages  # (adds sign-in and sign-out to `pages`)
from tracefood.web.pages.site import pages

MAX_FORM_BYTES = 64 * 1024
"""The largest form field (sign-in, the record forms): a token or a few lines of text."""


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the app from checked settings, or from overrides of the configured ones (same
    names as ``TRACEFOOD_*``); a bad setting raises here, before any request."""
    app = Flask(__name__)
    settings = config if isinstance(config, Settings) else load_settings(overrides=config)
    instance = Instance(settings)
    app.config["SECRET_KEY"] = instance.secret_key  # shared by every worker (instance.py)
    # Bodies are bounded before anything reads them: 413 at once, never buffered in full
    # (the largest capture document is MAX_BODY; forms are far smaller, see MAX_FORM_MEMORY_SIZE).
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_FORM_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    ledger_ext.init_app(app, instance)
    problems.init_app(app)
    limiter = limits.init_app(app, settings)  # before the blueprints' hooks: a 429 comes first
    limits.limit_sign_in(limiter, pages, settings.sign_in_rate_limit, page=session_pages.too_many_sign_ins)
    app.register_blueprint(api)
    app.register_blueprint(events_api)
    app.register_blueprint(epcis)
    app.register_blueprint(labels_api)
    app.register_blueprint(trace_api)
    app.register_blueprint(pages)

    @app.before_request
    def _refuse_nul() -> None:
        # NUL cannot be stored in PostgreSQL text and is never part of a valid id or query.
        if "\x00" in request.path:
            raise InvalidParameter("path", "NUL characters are not allowed")
        for name, value in request.args.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise InvalidParameter(name.replace("\x00", ""), "NUL characters are not allowed")

    @app.get("/healthz")
    def healthz() -> Any:
        status = ledger_ext.health()
        return jsonify(status | {"version": __version__}), 200 if status["status"] == "ok" else 503

    return app
