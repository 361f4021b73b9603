"""Producer pages: sign in with an API token, record a harvest, a shipment or a receipt through
forms that explain their errors field by field, and see my lots and where they are.

The forms build TraceFood's readable event JSON and record it with the same
:class:`~tracefood.chain.capture.EventStore` as the REST API, so the pages add no rules of
their own beyond what a form needs (required fields, a local date and time in a chosen time
zone). Errors come back as JSON pointers, into the readable event (``/items/0/quantity``) or
into the EPCIS event it became (``/quantityList/0/quantity``); :func:`field_of` maps both to
the form field they are about, so each error is shown next to its input.

Signing in and out is in :mod:`tracefood.web.pages.session`; the cookie holds only a server-side
session's id (see :func:`tracefood.web.auth.page_actor`). Every POST here
carries a CSRF token, checked with Flask-WTF's CSRFProtect scoped to this blueprint: the API
authenticates with bearer tokens and never reads cookies, so it needs no CSRF token.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial, wraps
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask.blueprints import BlueprintSetupState
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from tracefood import __version__
from tracefood.chain import access
from tracefood.chain.capture import EventStore
from tracefood.chain.lots import list_lots
from tracefood.chain.registry import Actor, Registry
from tracefood.epcis import readable
from tracefood.errors import EventError, TraceFoodError
from tracefood.web import i18n
from tracefood.web.auth import page_actor, registry
from tracefood.web.ledger_ext import get_ledger

pages = Blueprint("pages", __name__, template_folder="templates")
csrf = CSRFProtect()
View = TypeVar("View", bound=Callable[..., Any])

KINDS = ("harvest", "ship", "receive")
_WHAT = ("time", "tz", "product", "lot", "quantity", "unit")
_DOCUMENT = ("reference_type", "reference_number")
FIELDS: dict[str, tuple[str, ...]] = {
    "harvest": ("location", *_WHAT, "field"),
    "ship": ("location", "to", "carrier", *_WHAT, *_DOCUMENT),
    "receive": ("location", "from", *_WHAT, *_DOCUMENT),
}
REQUIRED = frozenset(
    {"location", "to", "time", "tz", "product", "lot", "quantity", "reference_type", "reference_number"}
)
DEFAULT_TZ = "America/Toronto"  # Québec and Ontario
TIMEZONES = (
    "America/Toronto",
    "America/Halifax",
    "America/Moncton",
    "America/St_Johns",
    "America/Winnipeg",
    "America/Regina",
    "America/Edmonton",
    "America/Vancouver",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "UTC",
)
UNITS = ("KGM", "LBR", "CS", "H87")
REFERENCE_TYPES = ("bol", "po", "inv", "desadv", "recadv")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Reasons from the ledger core that recur on forms and are worth saying in French too.
CORE_REASONS = {"required": "err.required", "must be a number": "err.quantity"}
_POINTERS: tuple[tuple[str, str], ...] = (
    (r"/(time|eventTime|harvest_date)", "time"),
    (r"/(location|bizLocation|readPoint)(/id)?", "location"),
    (r"/(to|destinationList(/.*)?)", "to"),
    (r"/from", "from"),
    (r"/carrier", "carrier"),
    (r"/(items|quantityList)/0/quantity", "quantity"),
    (r"/(items|quantityList)/0/(unit|uom)", "unit"),
    (r"/items/0/product", "product"),
    (r"/(items|quantityList|epcList)(/0(/lot|/epcClass)?)?", "lot"),
    (r"/(reference/type|bizTransactionList/0/type)", "reference_type"),
    (r"/(reference(/number)?|bizTransactionList(/.*)?)", "reference_number"),
    (r"/field", "field"),
)
POINTER_FIELDS = tuple((re.compile(pattern), name) for pattern, name in _POINTERS)
_LOT_URI = re.compile(r"https://id\.gs1\.org/01/\d{14}/10/([^\s,;)]+)|urn:tracefood:lot:[^:\s]+:([^\s,;)]+)")
_SPACES = re.compile(r"[\s\u00a0\u202f]")


class _TimeGap(ValueError):
    """A wall-clock time skipped when the clocks jump forward."""


# -- app-level setup this blueprint needs --------------------------------------------------------


class _SessionInterface(SecureCookieSessionInterface):
    """Signed cookie sessions whose cookie is Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app) or (has_request_context() and request.is_secure))


@pages.record_once
def _init_app(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    # CSRF is checked in this blueprint's before_request only (the API takes no cookies), and
    # a token lives as long as its session: signing in or out starts a new one.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.session_interface = _SessionInterface()
    csrf.init_app(app)


# -- per request ---------------------------------------------------------------------------------


def t(msgid: str, **fields: Any) -> str:
    return i18n.translate(g.get("lang", i18n.DEFAULT), msgid, **fields)


@pages.before_request
def _before() -> None:
    g.lang, g.lang_asked = i18n.choose(request)
    g.page_actor = page_actor()
    if request.method == "POST":
        csrf.protect()


@pages.after_request
def _after(response: Response) -> Response:
    if g.get("lang_asked"):
        i18n.remember(response, g.lang, request.is_secure)
    for name, value in (
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),  # Flask-WTF checks the Referer on HTTPS posts
        ("Cache-Control", "no-store"),
    ):
        response.headers.setdefault(name, value)
    response.vary.update(("Cookie", "Accept-Language"))
    return response


@pages.context_processor
def _context() -> dict[str, Any]:
    lang = g.get("lang", i18n.DEFAULT)
    other = "fr" if lang == "en" else "en"
    args = {k: v for k, v in request.args.items() if k != "lang"} | {"lang": other}
    return {
        "lang": lang,
        "t": partial(i18n.translate, lang),
        "num": (lambda value: str(value).replace(".", ",")) if lang == "fr" else str,
        "actor": g.get("page_actor"),
        "access": access,  # templates ask the role sets too (access.READS_EVERY_LOT, ...)
        "other_lang": other,
        "other_lang_name": i18n.NAMES[other],
        "switch_url": f"{request.path}?{urlencode(args)}",
        "endpoint": request.endpoint,
        "version": __version__,
    }


@pages.errorhandler(CSRFError)
def _csrf_error(_exc: CSRFError) -> tuple[str, int]:
    return render_template("error.html", title=t("error.csrf.title"), message=t("error.csrf.body")), 400


def signed_in(view: View) -> View:
    """Send visitors who are not signed in to the sign-in page, then back here."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.page_actor is None:
            flash(t("sign_in.needed"), "info")
            target = request.full_path if request.method == "GET" else request.path
            return redirect(url_for("pages.sign_in", next=target.rstrip("?")), 303)
        return view(*args, **kwargs)

    return cast(View, wrapper)


def safe_next(value: str | None) -> str:
    """A local path to return to after signing in (never another site)."""
    # Browsers drop tabs and newlines from URLs ("/\t/evil.example" is "//evil.example").
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(c.isspace() or not c.isprintable() for c in value):
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


# -- home ----------------------------------------------------------------------------------------


@pages.get("/")
def home() -> str:
    actor: Actor | None = g.page_actor
    party = party_name(registry(), actor) if actor else None
    return render_template("home.html", party=party, next="/")


def party_name(reg: Registry, actor: Actor) -> str:
    if actor.party_id is None:
        return actor.label
    try:
        return str(reg.get("party", actor.party_id)["name"])
    except TraceFoodError:
        return actor.party_id


# -- my lots -------------------------------------------------------------------------------------


@pages.get("/lots")
@signed_in
def lots() -> str:
    actor: Actor = g.page_actor
    reg = registry()
    products = {p["id"]: p for p in reg.list("product")}
    location_ids = {loc["uri"]: loc["id"] for loc in reg.list("location")}
    rows = list_lots(get_ledger().engine, party_id=actor.party_id) if actor.party_id else []
    return render_template(
        "lots.html",
        lots=rows,
        products=products,
        location_ids=location_ids,
        may_record=actor.role in access.RECORDS_ON_FORMS,
        may_label=actor.role in access.ISSUES_LABELS,
    )


# -- recording -----------------------------------------------------------------------------------


@dataclass
class FormErrors:
    """Errors of one form: at most one per field (the first found), and the rest for the top."""

    by_field: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str | None, reason: str) -> None:
        if name is None:
            self.general.append(reason)
        else:
            self.by_field.setdefault(name, reason)

    def add_found(self, pointer: str, kind: str, reason: str) -> None:
        """Add a ledger finding at ``pointer``, unless the form already said the same thing."""
        if pointer == "/reference" and self.by_field.keys() & {"reference_type", "reference_number"}:
            return  # "the reference is required" says no more than the error on its type or number
        self.add(field_of(pointer, kind), reason)

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)


@dataclass(frozen=True)
class Choices:
    """What the selects offer, from the registry."""

    mine: list[dict[str, Any]]
    locations: list[dict[str, Any]]
    products: list[dict[str, Any]]
    parties: list[dict[str, Any]]

    @classmethod
    def load(cls, reg: Registry, party_id: str) -> Choices:
        locations = reg.list("location")
        return cls(
            [loc for loc in locations if loc["party_id"] == party_id],
            locations,
            reg.list("product"),
            reg.list("party"),
        )

    def lookup(self, entity: str, key: str) -> Mapping[str, Any] | None:
        rows = {"location": self.locations, "product": self.products, "party": self.parties}[entity]
        return next((row for row in rows if row["id"] == key), None)

    def place_names(self) -> dict[str, str]:
        return {loc["uri"]: loc["name"] for loc in self.locations}


def field_of(pointer: str, kind: str) -> str | None:
    """The form field a JSON pointer into the readable or EPCIS event is about (None: the form)."""
    if pointer.startswith("/sourceList"):
        name: str | None = "from" if kind == "receive" else "location"
    else:
        name = next((n for pattern, n in POINTER_FIELDS if pattern.fullmatch(pointer)), None)
    return name if name in FIELDS[kind] else None


def humane(reason: str, places: Mapping[str, str]) -> str:
    """A ledger reason with location URIs as names and lot URIs as lot codes."""
    if reason in CORE_REASONS:
        return t(CORE_REASONS[reason])
    for uri in sorted(places, key=len, reverse=True):
        reason = reason.replace(uri, places[uri])
    return _LOT_URI.sub(lambda m: unquote(m.group(1) or m.group(2)), reason)


def event_time(local: str, tz_name: str) -> str:
    """RFC 3339 with the zone's offset at that moment, from a datetime-local value."""
    naive = dt.datetime.fromisoformat(local)
    if naive.tzinfo is not None:
        raise ValueError("expected a local time")
    zone = ZoneInfo(tz_name)
    moment = naive.replace(tzinfo=zone, microsecond=0)
    if moment.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise _TimeGap(local)
    return moment.isoformat(timespec="seconds")


def quantity_text(value: str) -> str:
    """The quantity as the ledger reads it: no spaces, a decimal comma made a point."""
    value = _SPACES.sub("", value)
    return value.replace(",", ".") if re.fullmatch(r"\d+,\d+", value) else value


def readable_event(kind: str, form: Mapping[str, str]) -> tuple[dict[str, Any], FormErrors]:
    """The readable event a form describes, and the errors the form itself can see."""
    errors = FormErrors()
    for name in FIELDS[kind]:
        if name in REQUIRED and not form[name]:
            errors.add(name, t("err.required"))
    event: dict[str, Any] = {"kind": kind, "location": form["location"]}
    if form["tz"] not in TIMEZONES:
        errors.add("tz", t("err.tz"))
    elif form["time"]:
        try:
            event["time"] = event_time(form["time"], form["tz"])
        except _TimeGap:
            errors.add("time", t("err.time_gap", tz=form["tz"]))
        except (ValueError, OverflowError):  # not a date, or out of datetime's range once in UTC
            errors.add("time", t("err.time_format"))
    item = {"product": form["product"], "lot": form["lot"]}
    if form["quantity"]:
        item["quantity"] = quantity_text(form["quantity"])
    if form["unit"]:
        item["unit"] = form["unit"]
    event["items"] = [item]
    if kind == "harvest" and form["field"]:
        event["field"] = form["field"]
    if kind == "ship":
        event["to"] = form["to"]
        if form["carrier"]:
            event["carrier"] = form["carrier"]
    if kind == "receive" and form["from"]:
        event["from"] = form["from"]
    if kind != "harvest" and (form["reference_type"] or form["reference_number"]):
        event["reference"] = {"type": form["reference_type"], "number": form["reference_number"]}
    return event, errors


def _check(event: dict[str, Any], kind: str, choices: Choices, actor: Actor, errors: FormErrors) -> None:
    """Add the ledger's structural findings (no state, nothing written) to ``errors``."""
    try:
        readable.to_epcis(event, choices.lookup, actor.party_id or "")
    except ExceptionGroup as group:
        places = choices.place_names()
        for exc in group.exceptions:
            if isinstance(exc, EventError):
                errors.add_found(exc.field, kind, humane(exc.reason, places))


@pages.route(f"/record/<any({', '.join(KINDS)}):kind>", methods=["GET", "POST"])
@signed_in
def record(kind: str) -> Any:
    actor: Actor = g.page_actor
    if actor.role not in access.RECORDS_ON_FORMS or actor.party_id is None:
        role = t(f"role.{actor.role}")
        message = t("error.forbidden.body", role=role)
        return render_template("error.html", title=t("error.forbidden.title"), message=message), 403
    choices = Choices.load(registry(), actor.party_id)
    if request.method == "GET":
        return _form(kind, choices, _defaults(kind, choices), FormErrors(), 200)
    form = {name: request.form.get(name, "").strip() for name in FIELDS[kind]}
    event, errors = readable_event(kind, form)
    _check(event, kind, choices, actor, errors)
    if errors:
        return _form(kind, choices, form, errors, 422)
    try:
        (receipt,) = EventStore(get_ledger()).record(event, actor)
    except TraceFoodError as exc:
        if exc.status >= 500:
            raise
        places = choices.place_names()
        for error in exc.errors:
            errors.add_found(str(error.get("field", "")), kind, humane(str(error.get("reason", "")), places))
        if not exc.errors:
            errors.add(None, humane(exc.detail, places))
        return _form(kind, choices, form, errors, 422 if exc.status == 422 else exc.status)
    flask_session["tz"] = form["tz"]
    message = "flash.recorded" if receipt.created else "flash.already"
    flash(t(message, seq=receipt.seq), "success")
    return redirect(url_for("pages.lots"), 303)


def _defaults(kind: str, choices: Choices) -> dict[str, str]:
    """A fresh form: now in the last time zone used, my only location, and any ?field= given."""
    tz = flask_session.get("tz")
    tz = tz if tz in TIMEZONES else DEFAULT_TZ
    now = dt.datetime.now(ZoneInfo(tz)).replace(second=0, microsecond=0, tzinfo=None)
    values = dict.fromkeys(FIELDS[kind], "") | {"time": now.isoformat(timespec="minutes"), "tz": tz}
    if len(choices.mine) == 1:
        values["location"] = choices.mine[0]["id"]
    if kind != "harvest":
        values["reference_type"] = "bol"
    values.update({k: v for k, v in request.args.items() if k in values and k not in ("time", "tz")})
    return values


def _form(kind: str, choices: Choices, values: Mapping[str, str], errors: FormErrors, status: int) -> Any:
    labels = {name: t(f"field.location.{kind}" if name == "location" else f"field.{name}") for name in FIELDS[kind]}
    places = [(loc["id"], loc["name"]) for loc in choices.locations]
    options = {
        "location": [(loc["id"], loc["name"]) for loc in choices.mine],
        "to": places,
        "from": places,
        "carrier": [(p["id"], p["name"]) for p in choices.parties],
        "tz": [(tz, tz.replace("_", " ")) for tz in TIMEZONES],
        "product": [(p["id"], f"{p['description']} ({p['unit']})") for p in choices.products],
        "unit": [(unit, t(f"unit.{unit}")) for unit in UNITS],
        "reference_type": [(ref, t(f"ref.{ref}")) for ref in REFERENCE_TYPES],
    }
    optional = {"carrier": t("form.none"), "from": t("form.none"), "unit": t("unit.product")}
    context = {
        "kind": kind,
        "fields": FIELDS[kind],
        "required": REQUIRED,
        "values": values,
        "errors": errors,
        "ordered_errors": [(name, errors.by_field[name]) for name in FIELDS[kind] if name in errors.by_field],
        "labels": labels,
        "options": {name: options[name] for name in FIELDS[kind] if name in options},
        "blanks": {name: optional.get(name, t("form.choose")) for name in options},
        "help": {"lot": t("field.lot_help"), "quantity": t("field.quantity_help")},
    }
    return render_template("record.html", **context), status
