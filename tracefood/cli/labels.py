"""``tracefood label issue|verify|keys|revoke-key|rotate-key|backfill`` and ``tracefood trust-list fetch``.

The operator at the command line issues labels for a party (``--party``, default: the party
that first recorded the lot); the same custody rule as the API applies. ``label verify`` works
offline from a trust list fetched earlier, or against the configured database. Which ledger
key a trust list must carry is the instance's rule (:meth:`Instance.trusted_ledger_key`).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import click

from tracefood.chain.registry import OPERATOR
from tracefood.cli.common import echo_json, handle_errors, pass_instance
from tracefood.errors import InvalidParameter
from tracefood.instance import Instance
from tracefood.labels import db_trust, issuance, ledger_audit, printed, qr
from tracefood.labels import render as label_render
from tracefood.labels import signing as labels
from tracefood.labels import trust as label_trust

FETCH_TIMEOUT = 30
MAX_TRUST_LIST = 256 * 1024 * 1024


@click.group(name="label", help="Issue and verify signed QR labels; manage label keys.")
def label_group() -> None:
    pass


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
@pass_instance
def issue(instance: Instance, identifier: str, party: str | None, fmt: str | None, layout: str, ec: str,
          attributes: str, output: Path | None, as_json: bool) -> None:  # fmt: skip
    """Sign a label for a lot or SSCC and print its URL (and write the file with -o)."""
    if fmt is None:
        suffix = output.suffix.lower().lstrip(".") if output else ""
        fmt = suffix if suffix in label_render.FORMATS else "png"
    issued = issuance.issue(
        instance.ledger,
        instance.label_keys,
        identifier,
        OPERATOR,
        instance.settings.public_url,
        party_id=party,
        ec=ec,
        attributes=attributes,
    )
    if output is not None:
        if fmt == "pdf" and layout in ("letter", "a4"):
            data = printed.render_sheet([(issued.url, issuance.label_text(issued))], layout=layout, ec=issued.ec)
        else:
            data = label_render.render(issued.url, fmt, issuance.label_text(issued), ec=issued.ec, layout=layout)
        output.write_bytes(data)
    if as_json:
        version, level = qr.qr_info(issued.url, issued.ec)
        echo_json(issued.to_json() | {"qr": {"version": version, "ec": level}, "file": str(output) if output else None})
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
@pass_instance
def verify(instance: Instance, label: str, trust_file: Path | None, ledger_key: str | None, as_json: bool) -> None:
    """Verify a label from its URL or from a photo/scan of it (PNG, JPEG).

    Exit 0: genuine and not recalled. Exit 1: anything else, with one line saying why."""
    label = _label_url(label)
    if trust_file is not None:
        pinned = instance.trusted_ledger_key(ledger_key)
        if pinned is None:
            raise InvalidParameter(
                "--ledger-key",
                "no ledger key to check the trust list with: fetch it with `tracefood trust-list fetch` "
                "(which pins the key on first use), or give --ledger-key / TRACEFOOD_TRUSTED_LEDGER_KEY "
                "(the text of /api/v1/ledger/key); a list checked only against the key inside it proves nothing",
            )
        text = trust_file.read_text(encoding="utf-8")
        listed = label_trust.TrustList.open(text, pinned=pinned, seen=instance.seen_trust_lists())
        instance.remember_trust_list(listed)  # from now on an older list is refused
        verdict = labels.verify(label, listed, source="trust-list")
    else:
        verdict = labels.verify(label, db_trust.DbTrust(instance.ledger.engine))
    if as_json:
        echo_json(verdict.to_json())
    else:
        click.echo(verdict.message)
    raise SystemExit(0 if verdict.ok else 1)


def _label_url(label: str) -> str:
    """A label's URL as given, or read from the QR code in an image file."""
    path = Path(label)
    if "://" not in label and path.is_file():
        codes = qr.decode_image(path.read_bytes())
        if not codes:
            raise InvalidParameter("LABEL", f"no readable QR code in {path}")
        return codes[0]
    if "://" not in label:
        raise InvalidParameter("LABEL", f"neither a label URL nor an image file: {label[:80]!r}")
    return label


@label_group.command("keys")
@click.option("--party", help="Only this party's keys.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
@pass_instance
def keys(instance: Instance, party: str | None, as_json: bool) -> None:
    """List label keys (active, retired by rotation, revoked)."""
    rows = instance.label_keys.list(party)
    if as_json:
        echo_json(rows)
        return
    for k in rows:
        extra = f" ({k['revoked_reason']})" if k["revoked_reason"] else ""
        click.echo(f"{k['kid']}  {k['party']:20} {k['state']:8} created {k['created_at']}{extra}")


@label_group.command("rotate-key")
@click.option("--party", required=True)
@handle_errors
@pass_instance
def rotate_key(instance: Instance, party: str) -> None:
    """Give a party a new label key; its current keys stop signing but still verify."""
    made = instance.label_keys.rotate(party, OPERATOR)
    click.echo(f"{made['kid']}  {party}  active")


@label_group.command("revoke-key")
@click.argument("kid")
@click.option("--reason", required=True, help="Why (shown to whoever scans a label it signed).")
@handle_errors
@pass_instance
def revoke_key(instance: Instance, kid: str, reason: str) -> None:
    """Revoke a label key: every label it signed stops verifying."""
    instance.label_keys.revoke(kid, reason, OPERATOR)
    click.echo(f"{kid}  revoked: {reason}")


@label_group.command("backfill")
@handle_errors
@pass_instance
def backfill(instance: Instance) -> None:
    """Record in the ledger, once, the label keys and issuances of a database from before label
    history was kept there (each entry marked backfilled). Run it right after upgrading, having
    checked `tracefood label keys`: it vouches for the rows as they stand."""
    lines = ledger_audit.backfill(instance.signing_ledger())
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} label entr{'y' if len(lines) == 1 else 'ies'} recorded", err=True)


@click.group(name="trust-list", help="Fetch the signed trust list for offline label verification.")
def trust_group() -> None:
    pass


@trust_group.command("fetch")
@click.argument("url")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--ledger-key", help="Pin the ledger's verifier key (text or file); strongly advised.")
@handle_errors
@pass_instance
def fetch(instance: Instance, url: str, output: Path, ledger_key: str | None) -> None:
    """Download the signed trust list from a TraceFood server for offline verification."""
    text = _download(url)
    pinned = instance.trusted_ledger_key(ledger_key)
    trust = label_trust.TrustList.open(text, pinned=pinned, seen=instance.seen_trust_lists())
    output.write_text(text, encoding="utf-8")
    instance.remember_trust_list(trust)
    doc = trust.document
    pin = ""
    if pinned is None:  # trust on first use, as ssh does: later lists must carry this key
        path = instance.pin_ledger_key(doc["ledger_key"])
        name, key_id = doc["ledger_key"].split("+")[:2]
        pin = f"; ledger key {name}+{key_id} pinned on first use in {path} (compare it with one you trust)"
    click.echo(
        f"{output}: {len(doc['keys'])} keys, {len(doc['subjects'])} lots, {len(doc['issued'])} labels, "
        f"expires {doc['expires_at']}{pin}"
    )


def _download(url: str) -> str:
    """The trust list's text from a server (its base URL or the list's own)."""
    if not url.startswith(("https://", "http://")):
        raise InvalidParameter("URL", "must start with https:// or http://")
    if not url.rstrip("/").endswith("/api/v1/trust-list"):
        url = url.rstrip("/") + "/api/v1/trust-list"
    request = urllib.request.Request(url, headers={"Accept": "text/plain"})  # noqa: S310 (http(s) checked above)
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
            body: bytes = response.read(MAX_TRUST_LIST + 1)
    except urllib.error.HTTPError as exc:
        raise InvalidParameter("URL", f"{url} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise InvalidParameter("URL", f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
    if len(body) > MAX_TRUST_LIST:
        raise InvalidParameter("URL", f"the trust list is larger than {MAX_TRUST_LIST} bytes")
    return body.decode("utf-8", errors="strict")


COMMANDS = (label_group, trust_group)
