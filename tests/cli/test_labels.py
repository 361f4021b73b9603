"""`tracefood label ...` and `tracefood trust-list fetch` as a user runs them: real processes,
real databases, a served app to fetch the trust list from, and QR images read back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.web.test_serve import free_port
from tracefood.labels import qr as label_qr
from tracefood.labels import render as label_render

SALAD_A = "https://id.gs1.org/01/17541004000141/10/SR-0815-A"
SALAD_B = "/01/17541004000141/10/SR-0815-B"  # on hold after a failed test
CONTAINER = "075410000000000421"


class Env:
    def __init__(self, home: Path, url: str, port: int) -> None:
        self.home, self.base = home, f"http://127.0.0.1:{port}"
        self.port = port
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")}
        self.env |= {"TRACEFOOD_HOME": str(home), "TRACEFOOD_DATABASE_URL": url, "TRACEFOOD_PUBLIC_URL": self.base}

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tracefood", *args],
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def cli(database: Database, tmp_path: Path) -> Env:
    env = Env(tmp_path, database.url, free_port())
    demo = env.run("demo", "--no-serve")
    assert demo.returncode == 0, demo.stderr
    assert f"{env.base}/01/17541004000141/10/SR-0815-A#1." in demo.stdout  # the demo prints its labels
    return env


@pytest.fixture
def served(cli: Env) -> Iterator[Env]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tracefood", "serve", "--port", str(cli.port)],
        env=cli.env | {"TRACEFOOD_TRUST_LIST_HOURS": os.environ.get("TEST_TRUST_HOURS", "72")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(cli.base + "/healthz", timeout=5):  # noqa: S310 (localhost)
                    break
            except OSError:
                time.sleep(0.05)
        yield cli
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_cli__issue_every_format_and_verify_the_image(cli: Env) -> None:
    png = cli.home / "a.png"
    issued = cli.run("label", "issue", SALAD_A, "-o", str(png))
    assert issued.returncode == 0, issued.stderr
    url = issued.stdout.strip()
    assert url.startswith(f"{cli.base}/01/17541004000141/10/SR-0815-A#1.")
    assert label_qr.decode_image(png.read_bytes()) == [url]
    verified = cli.run("label", "verify", str(png))
    assert verified.returncode == 0 and one_line(verified).startswith("GENUINE: lot SR-0815-A signed by Salades")
    for fmt, start in (("svg", b"<?xml"), ("pdf", b"%PDF"), ("zpl", b"^XA")):
        out = cli.home / f"a.{fmt}"
        made = cli.run("label", "issue", SALAD_A, "-o", str(out), "--ec", "Q")
        assert made.returncode == 0, made.stderr
        assert out.read_bytes().lstrip().startswith(start), fmt
    sheet = cli.home / "sheet.pdf"
    assert cli.run("label", "issue", SALAD_A, "--layout", "a4", "-o", str(sheet)).returncode == 0
    assert sheet.read_bytes().startswith(b"%PDF")
    pallet = cli.run("label", "issue", CONTAINER, "--json")
    assert pallet.returncode == 0 and f"/00/{CONTAINER}#1." in pallet.stdout
    held = cli.run("label", "verify", cli.run("label", "issue", SALAD_B).stdout.strip())
    assert held.returncode == 0 and "ON HOLD" in one_line(held)  # genuine, not recalled: exit 0


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda u: u.replace("SR-0815-A#", "SR-0815-B#"), "lot was changed"),
        (lambda u: u.replace("17541004000141", "17541004000158"), "GTIN was changed"),
        (lambda u: u[:-4], "truncated"),
        (lambda u: u + "xyz", "extra characters"),
        (lambda u: u.replace("#1.", "#9."), "unknown label version"),
        (lambda u: u.split("#")[0], "no signature"),
    ],
)
def test_cli__forgeries_exit_1_with_their_reason(cli: Env, change: object, words: str) -> None:
    url = cli.run("label", "issue", SALAD_A).stdout.strip()
    forged = change(url)  # type: ignore[operator]
    result = cli.run("label", "verify", forged)
    assert result.returncode == 1 and one_line(result).startswith("REFUSED") and words in result.stdout


def test_cli__offline_with_a_fetched_trust_list(served: Env, tmp_path: Path) -> None:
    cli = served
    url = cli.run("label", "issue", SALAD_A).stdout.strip()
    png = tmp_path / "a.png"
    png.write_bytes(label_render.render(url, "png"))
    with urllib.request.urlopen(cli.base + "/api/v1/ledger/key", timeout=10) as response:  # noqa: S310
        key = response.read().decode().strip()
    # a border laptop: its own TRACEFOOD_HOME, no ledger key, no database
    border = {"TRACEFOOD_HOME": str(tmp_path / "border"), "TRACEFOOD_DATABASE_URL": "sqlite:////nonexistent/x.db"}
    trust = tmp_path / "trust.txt"
    fetched = cli.run("trust-list", "fetch", cli.base, "-o", str(trust), "--ledger-key", key, **border)
    assert fetched.returncode == 0, fetched.stderr
    assert "keys" in one_line(fetched) and "pinned on first use" not in fetched.stdout
    # nothing pinned yet on this laptop (the key was given once, not kept): refused without a key
    unpinned = cli.run("label", "verify", url, "--trust-list", str(trust), **border)
    assert unpinned.returncode == 1 and "no ledger key to check the trust list with" in one_line(unpinned)
    ok = cli.run("label", "verify", str(png), "--trust-list", str(trust), "--ledger-key", key, **border)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert one_line(ok).startswith("GENUINE")
    # trust on first use: a fetch without a key pins the one it saw, and later runs use it
    tofu = cli.run("trust-list", "fetch", cli.base, "-o", str(trust), **border)
    assert tofu.returncode == 0 and "pinned on first use" in one_line(tofu)
    assert (tmp_path / "border" / "trusted-ledger.pub").read_text().strip() == key
    json_out = cli.run("label", "verify", url, "--trust-list", str(trust), "--json", **border)
    assert '"source": "trust-list"' in json_out.stdout and json_out.returncode == 0
    # offline forgeries get their reasons too
    for forged, words in ((url.replace("SR-0815-A#", "SR-0815-B#"), "lot was changed"), (url[:-3], "truncated")):
        result = cli.run("label", "verify", forged, "--trust-list", str(trust), **border)
        assert result.returncode == 1 and words in one_line(result)
    # a revocation reaches the border with the next trust list
    kid = url.split("#1.")[1][:12]
    assert cli.run(
        "label", "revoke-key", "--reason", "stolen printer", "--", kid
    )  # a kid may start with "-".returncode == 0
    assert cli.run("label", "verify", str(png), "--trust-list", str(trust), **border).returncode == 0  # stale list
    again = cli.run("trust-list", "fetch", cli.base + "/api/v1/trust-list", "-o", str(trust), **border)
    assert again.returncode == 0 and "pinned on first use" not in again.stdout
    refused = cli.run("label", "verify", str(png), "--trust-list", str(trust), **border)
    assert refused.returncode == 1 and "revoked" in one_line(refused) and "stolen printer" in refused.stdout
    # a key that is not the ledger's is refused, and nothing is written
    other = tmp_path / "other.txt"
    wrong = "other/ledger+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    bad = cli.run("trust-list", "fetch", cli.base, "-o", str(other), "--ledger-key", wrong, **border)
    assert bad.returncode == 1 and one_line(bad).startswith("error:") and not other.exists()
    # the ledger's own machine trusts its own key
    assert cli.run("label", "verify", url, "--trust-list", str(trust)).returncode == 1  # revoked, but checked


def test_cli__bad_input_is_one_line(cli: Env) -> None:
    blank = cli.home / "blank.png"
    from PIL import Image

    Image.new("L", (200, 200), 255).save(blank)
    cases = [
        (("label", "verify", str(blank)), "no readable QR code"),
        (("label", "verify", "/etc/hostname"), "not a readable"),
        (("label", "verify", "nothing-here"), "neither a label URL nor an image"),
        (("label", "issue", "https://id.gs1.org/01/17541004000141/10/NOPE"), "no lot"),
        (("label", "issue", "(01)123"), "id:"),
        (("label", "issue", SALAD_A, "--party", "fda-recalls"), "never produced or held"),
        (("label", "revoke-key", "AAAAAAAAAAAA", "--reason", "x"), "no label key"),
        (("trust-list", "fetch", "ftp://x", "-o", str(cli.home / "t")), "https://"),
        (("trust-list", "fetch", "http://127.0.0.1:9", "-o", str(cli.home / "t")), "cannot reach"),
    ]
    for args, words in cases:
        result = cli.run(*args)
        assert result.returncode != 0, args
        line = one_line(result)
        assert line.startswith("error:") and words in line, (args, line)
        assert "Traceback" not in result.stderr


def test_cli__expired_or_foreign_trust_lists_are_refused(cli: Env, tmp_path: Path) -> None:
    from tracefood.labels import db_trust
    from tracefood.ledger import Ledger
    from tracefood.ledger.note import Signer

    url = cli.run("label", "issue", SALAD_A).stdout.strip()
    ledger = Ledger.open(cli.env["TRACEFOOD_DATABASE_URL"], key_file=cli.home / "ledger.key")
    try:
        stale = db_trust.trust_list(ledger.engine, ledger.signer, base_url=cli.base, hours=-1)
        impostor = Signer.generate(ledger.signer.name)  # same name, another key
        foreign = db_trust.trust_list(ledger.engine, impostor, base_url=cli.base, hours=1)
        (tmp_path / "ledger.pub").write_text(ledger.signer.verifier.encode() + "\n")
    finally:
        ledger.close()
    pinned = {"TRACEFOOD_TRUSTED_LEDGER_KEY": str(tmp_path / "ledger.pub")}  # a file holding the key
    for name, note, words in (("stale", stale, "expired"), ("foreign", foreign, "not the pinned key")):
        path = tmp_path / f"{name}.txt"
        path.write_text(note)
        result = cli.run("label", "verify", url, "--trust-list", str(path), **pinned)
        assert result.returncode == 1 and words in one_line(result), name


def test_cli__keys_list_and_rotate(cli: Env) -> None:
    listed = cli.run("label", "keys", "--party", "salades-richelieu")
    assert listed.returncode == 0 and "active" in listed.stdout
    old = listed.stdout.split()[0]
    url = cli.run("label", "issue", SALAD_A).stdout.strip()
    rotated = cli.run("label", "rotate-key", "--party", "salades-richelieu")
    assert rotated.returncode == 0
    after = cli.run("label", "keys", "--party", "salades-richelieu").stdout
    assert f"{old}  salades-richelieu" in after and "retired" in after
    assert cli.run("label", "verify", url).returncode == 0  # labels signed before rotation stay valid
    new = cli.run("label", "issue", SALAD_A).stdout.strip()
    assert old not in new and rotated.stdout.split()[0] in new
