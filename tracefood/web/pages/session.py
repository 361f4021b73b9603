"""Signing in and out of the pages.

Signing in checks an API token once and starts a server-side session
(:mod:`tracefood.chain.sessions`); the signed cookie then carries only that session's id.
Signing out ends the session on the server, so a saved copy of the cookie signs no one in.
Failed sign-ins are counted per client address (``SIGN_IN_RATE_LIMIT``, :mod:`tracefood.web.limits`):
past the limit the form answers 429 with ``Retry-After``, in the visitor's language.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, make_response, redirect, render_template, request, url_for

from tracefood.errors import Unauthorised
from tracefood.web import auth, i18n
from tracefood.web.auth import registry
from tracefood.web.pages.site import pages, party_name, safe_next, t


@pages.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("sign_in.html", next=next_url, error=None)
    reg = registry()
    try:
        actor = reg.authenticate(request.form.get("token", ""))
    except Unauthorised:
        return render_template("sign_in.html", next=next_url, error=t("sign_in.bad")), 422
    auth.sign_in(actor)
    flash(t("flash.signed_in", party=party_name(reg, actor)), "success")
    return redirect(next_url, 303)


@pages.post("/sign-out")
def sign_out() -> Any:
    auth.sign_out()
    g.page_actor = None
    flash(t("flash.signed_out"), "success")
    return redirect(url_for("pages.home"), 303)


def too_many_sign_ins(retry_after: int) -> Response:
    """The sign-in form again, saying when to try next (429; the limiter answers before this
    blueprint's own hooks, so the language is chosen here)."""
    g.lang, g.lang_asked = i18n.choose(request)
    g.page_actor = None
    error = t("sign_in.too_many", seconds=retry_after)
    next_url = safe_next(request.values.get("next"))
    return make_response(render_template("sign_in.html", next=next_url, error=error), 429)
