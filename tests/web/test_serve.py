"""`tracefood serve` as an operator runs it: a real process, a real socket, real HTTP."""

from __future__ import annotations

import base64
import contextlib
import http.client
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Database
from tracefood.demo.scenario import scenario
from tracefood.ledger import merkle
from tracefood.ledger.note import Verifier, open_checkpoint


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (localhost test server)
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), exc.read()


DEMO_EVENTS = len(scenario())


def test_serve__answers_over_http(database: Database, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")}
    env |= {"TRACEFOOD_HOME": str(tmp_path), "TRACEFOOD_DATABASE_URL": database.url}
    cli = [sys.executable, "-m", "tracefood"]
    subprocess.run([*cli, "demo", "--no-serve"], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                status, _, _ = get(base + "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        _, kind, key = get(base + "/api/v1/ledger/key")
        _, _, note = get(base + "/api/v1/ledger/checkpoint")
        checkpoint = open_checkpoint(note.decode(), Verifier.parse(key.decode()))
        # the demo's events, and the label keys and issuances that are ledger entries too
        size = checkpoint.size
        assert kind == "text/plain" and DEMO_EVENTS < size < DEMO_EVENTS + 20
        status, kind, body = get(base + f"/api/v1/ledger/proofs/inclusion?index=3&size={size}")
        assert status == 200 and kind == "application/json"
        proof = json.loads(body)
        merkle.verify_inclusion(
            3,
            size,
            base64.b64decode(proof["leaf_hash"]),
            [base64.b64decode(p) for p in proof["proof"]],
            checkpoint.root,
        )
        status, kind, body = get(base + f"/api/v1/ledger/proofs/inclusion?index={size + 1}&size={size}")
        assert status == 400 and kind == "application/problem+json" and b'"field": "index"' in body
        for path, kind in (("/sign-in", "application/x-www-form-urlencoded"), ("/epcis/capture", "application/json")):
            status, answer = post_bytes(base + path, b"token=" + b"x" * (9 << 20), kind)  # 9 MiB
            assert status == 413, (path, answer[:200])
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert b"Traceback" not in err


def post_bytes(url: str, body: bytes, kind: str) -> tuple[int, bytes]:
    """POST ``body`` and read the answer even if the server answers (and stops reading) early."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.putrequest("POST", parts.path)
        conn.putheader("Content-Type", kind)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.send(body)  # the server may refuse before reading it all: its answer is read below
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until_up(base: str) -> None:
    for _ in range(200):
        try:
            get(base + "/healthz")
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{base} did not come up")


def worker_reads(server: int) -> dict[int, int]:
    """Read system calls made so far by each worker of ``server`` (Linux), or {} if unknown."""
    try:
        children = Path(f"/proc/{server}/task/{server}/children").read_text().split()
        io = {int(pid): Path(f"/proc/{pid}/io").read_text() for pid in children}
    except OSError:
        return {}
    return {pid: int(re.search(r"^syscr: (\d+)$", text, re.M).group(1)) for pid, text in io.items()}  # type: ignore[union-attr]


class Browser:
    """Cookies kept across requests, as a browser does; every request is a new connection,
    so the kernel hands it to whichever worker accepts first."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def csrf(self, path: str) -> str:
        status, page = self.open(path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert status == 200 and match, f"no CSRF token in {path} ({status})"
        return match.group(1)


def test_serve__sessions_hold_across_workers(database: Database, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")}
    env |= {"TRACEFOOD_HOME": str(tmp_path), "TRACEFOOD_DATABASE_URL": database.url}
    cli = [sys.executable, "-m", "tracefood"]
    subprocess.run([*cli, "demo", "--no-serve"], env=env, check=True, capture_output=True, timeout=120)
    token = json.loads((tmp_path / "demo-tokens.json").read_text())["ferme-beauregard:producer"]
    port = free_port()
    command = [*cli, "serve", "--port", str(port), "--workers", "2", "--threads", "2"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    browser = Browser(f"http://127.0.0.1:{port}")
    try:
        wait_until_up(browser.base)
        before = worker_reads(server.pid)
        status, page = browser.open("/sign-in", {"token": token, "next": "/", "csrf_token": browser.csrf("/sign-in")})
        assert status == 200 and "Ferme Beauregard" in page
        for _ in range(30):
            form = {"csrf_token": browser.csrf("/record/harvest"), "time": "", "tz": "America/Toronto"}
            status, page = browser.open("/record/harvest", form)
            assert status == 422, page  # the form's own errors, never a CSRF failure (400)
        after = worker_reads(server.pid)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert b"Traceback" not in err
    assert (tmp_path / "secret.key").exists()
    if before and after:  # both workers answered (else the test proves nothing)
        assert len(after) == 2 and all(after[pid] > before.get(pid, 0) for pid in after)


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("TRACEFOOD_TRUST_LIST_HOURS", "72h", "error: TRACEFOOD_TRUST_LIST_HOURS: must be a whole number of hours"),
        ("TRACEFOOD_PUBLIC_URL", "trace.example.qc.ca", "error: TRACEFOOD_PUBLIC_URL: must be http(s)://"),
        ("secret.key", "0644", "secret.key is readable by other users; run `chmod 600"),
    ],
)
def test_serve__bad_setting_stops_before_serving(tmp_path: Path, setting: str, value: str, words: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")} | {"TRACEFOOD_HOME": str(tmp_path)}
    if setting == "secret.key":
        (tmp_path / "secret.key").write_text("s" * 64 + "\n")
        (tmp_path / "secret.key").chmod(int(value, 8))
    else:
        env[setting] = value
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "tracefood", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_serve__apps_of_one_home_share_the_session_secret(tmp_path: Path) -> None:
    from tracefood.web import ledger_ext
    from tracefood.web.app import create_app

    first, second = create_app({"HOME": str(tmp_path)}), create_app({"HOME": str(tmp_path)})
    assert first.secret_key == second.secret_key == (tmp_path / "secret.key").read_text().strip()
    with first.app_context():
        assert ledger_ext.get_settings().trust_list_hours == 24
    given = create_app({"HOME": str(tmp_path / "other"), "SECRET_KEY": "given"})
    assert given.secret_key == "given" and not (tmp_path / "other" / "secret.key").exists()


def test_serve__create_app_refuses_a_bad_setting(tmp_path: Path) -> None:
    from tracefood.errors import InvalidParameter
    from tracefood.web.app import create_app

    with pytest.raises(InvalidParameter, match="TRACEFOOD_TRUST_LIST_HOURS: must be a whole number"):
        create_app({"HOME": str(tmp_path), "TRUST_LIST_HOURS": "soon"})
