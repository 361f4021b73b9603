"""``tracefood label issue|verify|keys|revoke-key|rotate-key`` and ``tracefood trust-list fetch``.

The operator at the command line issues labels for a party (``--party``, default: the party
that first recorded the lot); the same custody rule as the API applies. ``label verify`` works
offline from a trust list fetched earlier, or against the configured database.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from tracefood.chain.registry import OPERATOR
from tracefood.errors import InvalidParameter, LedgerKeyError
from tracefood.labels import render as label_render
from tracefood.labels import signing as labels
from tracefood.labels import store as label_store
from tracefood.ledger.keys import load_key
from tracefood.ledger.note import NoteError, Verifier

FETCH_TIMEOUT = 30
MAX_TRUST_LIST = 256 * 1024 * 1024


def _obj() -> Any:
    return click.get_current_context().find_root().obj


def _keys(ledger: Any) -> label_store.LabelKeys:
    s = _obj().settings
    master = label_store.load_master(s["LABEL_MASTER_KEY"], Path(s["LABEL_MASTER_KEY_FILE"]))
    return label_store.LabelKeys(ledger.engine, master)


PIN_FILE = "trusted-ledger.pub"


def _pin_file() -> Path:
    return Path(_obj().settings["HOME"]) / PIN_FILE


def _pinned(value: str | None) -> Verifier | None:
    """The ledger key a trust list must be signed with, from the first of: ``--ledger-key``,
    TRACEFOOD_TRUSTED_LEDGER_KEY (text or file), the key pinned by the first ``trust-list
    fetch`` in TRACEFOOD_HOME (trust on first use), this instance's own ledger key."""
    s = _obj().settings
    value = value or s["TRUSTED_LEDGER_KEY"]
    if not value and _pin_file().is_file():
        value = str(_pin_file())
    if not value:
        try:
            return load_key(Path(s["LEDGER_KEY_FILE"])).verifier
        except LedgerKeyError:
            return None
    text = Path(value).read_text() if Path(value).is_file() else value
    try:
        return Verifier.parse(text.strip())
    except NoteError as exc:
        raise InvalidParameter("--ledger-key", str(exc)) from None


def _text_of(issued: label_store.IssuedLabel) -> label_render.LabelText:
    from tracefood.web.api.labels import label_text  # the same text as the API prints

    return label_text(issued)


@click.group(name="label", help="Issue and verify signed QR labels; manage label keys.")
def label_group() -> None:
    pass


def _commands() -> None:
    from tracefood.cli import handle_errors

    @label_group.command("issue")
    @click.argument("identifier", metavar="ID")
    @click.option("--party", help="The party signing (default: the party that first recorded the lot).")
    @click.option(
        "--format", "fmt", type=click.Choice(label_render.FORMATS), help="Default: from -o's extension, else png."
    )
    @click.option("--layout", type=click.Choice(label_render.LAYOUTS), default="4x6", show_default=True,
                  help="PDF only: a 4x6 in shipping label, or a Letter / A4 sheet of case labels.")  # fmt: skip
    @click.option("--ec", type=click.Choice(["M", "Q"], case_sensitive=False), default="M", show_default=True,
                  help="QR error correction.")  # fmt: skip
    @click.option("--attributes", default="", help="GS1 query attributes for the URL, e.g. 17=261231.")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the label here.")
    @click.option("--json", "as_json", is_flag=True, help="Print the issuance as JSON.")
    @handle_errors
    def issue(identifier: str, party: str | None, fmt: str | None, layout: str, ec: str, attributes: str,
              output: Path | None, as_json: bool) -> None:  # fmt: skip
        """Sign a label for a lot or SSCC and print its URL (and write the file with -o)."""
        if fmt is None:
            suffix = output.suffix.lower().lstrip(".") if output else ""
            fmt = suffix if suffix in label_render.FORMATS else "png"
        ledger = _obj().open_ledger(with_key=False)
        try:
            issued = label_store.issue(
                ledger.engine,
                _keys(ledger),
                identifier,
                OPERATOR,
                _obj().settings["PUBLIC_URL"],
                party_id=party,
                ec=ec,
                attributes=attributes,
            )
        finally:
            ledger.close()
        if output is not None:
            if fmt == "pdf" and layout in ("letter", "a4"):
                data = label_render.render_sheet([(issued.url, _text_of(issued))], layout=layout, ec=issued.ec)
            else:
                data = label_render.render(issued.url, fmt, _text_of(issued), ec=issued.ec, layout=layout)
            output.write_bytes(data)
        if as_json:
            version, level = label_render.qr_info(issued.url, issued.ec)
            out = issued.to_json() | {"qr": {"version": version, "ec": level}, "file": str(output) if output else None}
            click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        else:
            click.echo(issued.url)

    @label_group.command("verify")
    @click.argument("label")
    @click.option(
        "--trust-list",
        "trust_file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="Verify offline from this trust list (tracefood trust-list fetch); default: the database.",
    )
    @click.option(
        "--ledger-key",
        help="The ledger's verifier key (text or file) the trust list must be signed with; required with "
        "--trust-list unless TRACEFOOD_TRUSTED_LEDGER_KEY is set.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
    @handle_errors
    def verify(label: str, trust_file: Path | None, ledger_key: str | None, as_json: bool) -> None:
        """Verify a label from its URL or from a photo/scan of it (PNG, JPEG).

        Exit 0: genuine and not recalled. Exit 1: anything else, with one line saying why."""
        path = Path(label)
        if "://" not in label and path.is_file():
            codes = label_render.decode_image(path.read_bytes())
            if not codes:
                raise InvalidParameter("LABEL", f"no readable QR code in {path}")
            label = codes[0]
        elif "://" not in label:
            raise InvalidParameter("LABEL", f"neither a label URL nor an image file: {label[:80]!r}")
        if trust_file is not None:
            pinned = _pinned(ledger_key)
            if pinned is None:
                raise InvalidParameter(
                    "--ledger-key",
                    "no ledger key to check the trust list with: fetch it with `tracefood trust-list fetch` "
                    "(which pins the key on first use), or give --ledger-key / TRACEFOOD_TRUSTED_LEDGER_KEY "
                    "(the text of /api/v1/ledger/key); a list checked only against the key inside it proves nothing",
                )
            trust: labels.Trust = labels.TrustList.open(trust_file.read_text(encoding="utf-8"), pinned=pinned)
            verdict = labels.verify(label, trust, source="trust-list")
        else:
            ledger = _obj().open_ledger(with_key=False)
            try:
                verdict = labels.verify(label, label_store.DbTrust(ledger.engine))
            finally:
                ledger.close()
        if as_json:
            click.echo(json.dumps(verdict.to_json(), indent=2, ensure_ascii=False))
        else:
            click.echo(verdict.message)
        raise SystemExit(0 if verdict.ok else 1)

    @label_group.command("keys")
    @click.option("--party", help="Only this party's keys.")
    @click.option("--json", "as_json", is_flag=True)
    @handle_errors
    def keys(party: str | None, as_json: bool) -> None:
        """List label keys (active, retired by rotation, revoked)."""
        ledger = _obj().open_ledger(with_key=False)
        try:
            rows = _keys(ledger).list(party)
        finally:
            ledger.close()
        if as_json:
            click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        for k in rows:
            extra = f" ({k['revoked_reason']})" if k["revoked_reason"] else ""
            click.echo(f"{k['kid']}  {k['party']:20} {k['state']:8} created {k['created_at']}{extra}")

    @label_group.command("rotate-key")
    @click.option("--party", required=True)
    @handle_errors
    def rotate_key(party: str) -> None:
        """Give a party a new label key; its current keys stop signing but still verify."""
        ledger = _obj().open_ledger(with_key=False)
        try:
            made = _keys(ledger).rotate(party, OPERATOR)
        finally:
            ledger.close()
        click.echo(f"{made['kid']}  {party}  active")

    @label_group.command("revoke-key")
    @click.argument("kid")
    @click.option("--reason", required=True, help="Why (shown to whoever scans a label it signed).")
    @handle_errors
    def revoke_key(kid: str, reason: str) -> None:
        """Revoke a label key: every label it signed stops verifying."""
        ledger = _obj().open_ledger(with_key=False)
        try:
            _keys(ledger).revoke(kid, reason, OPERATOR)
        finally:
            ledger.close()
        click.echo(f"{kid}  revoked: {reason}")

    @trust_group.command("fetch")
    @click.argument("url")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
    @click.option("--ledger-key", help="Pin the ledger's verifier key (text or file); strongly advised.")
    @handle_errors
    def fetch(url: str, output: Path, ledger_key: str | None) -> None:
        """Download the signed trust list from a TraceFood server for offline verification."""
        if not url.startswith(("https://", "http://")):
            raise InvalidParameter("URL", "must start with https:// or http://")
        if not url.rstrip("/").endswith("/api/v1/trust-list"):
            url = url.rstrip("/") + "/api/v1/trust-list"
        request = urllib.request.Request(url, headers={"Accept": "text/plain"})  # noqa: S310 (http(s) checked above)
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
                body = response.read(MAX_TRUST_LIST + 1)
        except urllib.error.HTTPError as exc:
            raise InvalidParameter("URL", f"{url} answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError) as exc:
            raise InvalidParameter("URL", f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
        if len(body) > MAX_TRUST_LIST:
            raise InvalidParameter("URL", f"the trust list is larger than {MAX_TRUST_LIST} bytes")
        text = body.decode("utf-8", errors="strict")
        pinned = _pinned(ledger_key)
        trust = labels.TrustList.open(text, pinned=pinned)
        output.write_text(text, encoding="utf-8")
        doc = trust.document
        pin = ""
        if pinned is None:  # trust on first use, as ssh does: later lists must carry this key
            _pin_file().parent.mkdir(parents=True, exist_ok=True)
            _pin_file().write_text(doc["ledger_key"] + "\n")
            pin = (
                f"; ledger key {doc['ledger_key'].split('+')[0]}+{doc['ledger_key'].split('+')[1]} pinned on first use"
            )
            pin += f" in {_pin_file()} (compare it with one you trust)"
        click.echo(
            f"{output}: {len(doc['keys'])} keys, {len(doc['subjects'])} lots, {len(doc['issued'])} labels, "
            f"expires {doc['expires_at']}{pin}"
        )


@click.group(name="trust-list", help="Fetch the signed trust list for offline label verification.")
def trust_group() -> None:
    pass


_commands()
COMMANDS = (label_group, trust_group)
